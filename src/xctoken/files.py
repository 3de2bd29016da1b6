"""Write secrets to files all-or-nothing, readable by the owner only.

Two shapes cover every sink: replacing a file atomically (``--output``, key
files, fastlane's JSON) and appending records to files other programs read
(GITHUB_OUTPUT, GITHUB_ENV, dotenv reports, $BASH_ENV, $CM_ENV). Files are
created with mode 0600 from the first byte; no chmod window.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import OutputError

SECRET_FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def write_secret_file(path: str | os.PathLike[str], content: str | bytes) -> Path:
    """Atomically replace ``path`` with ``content``, mode 0600.

    The data goes to a temporary file in the same directory that is renamed over
    the target only once fully written and synced, so readers see the old file or
    the new one, never half of one, and an interrupted write leaves nothing.
    """
    target = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    directory = target.parent if str(target.parent) else Path(".")
    if _is_stream(target):
        # Renaming over /dev/null or /dev/stdout would replace the device itself (as root,
        # for every process on the machine) with a file holding the secret.
        raise OutputError(f"{target} is a device, pipe or standard stream, not a file; name a file, or "
                          "leave out --output to print to standard output")
    try:
        # mkstemp creates the file O_EXCL with mode 0600.
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise OutputError(f"cannot create a file in {directory}: {_reason(error)}") from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp_name, target)
    except OSError as error:
        _remove_quietly(temp_name)
        raise OutputError(f"cannot write {target}: {_reason(error)}") from None
    except BaseException:
        # Interrupted (SIGTERM, Ctrl-C): leave nothing behind, then go on stopping.
        _remove_quietly(temp_name)
        raise
    return target


def _is_stream(target: Path) -> bool:
    """True for an existing device, FIFO or socket, and for links to a process's fds (/dev/stdout)."""
    try:
        info = os.stat(target)
    except OSError:
        return False  # nothing there yet (or unreachable: mkstemp reports that)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return True
    try:
        link = os.readlink(target)
    except OSError:
        return False  # not a link
    return link.startswith(("/proc/", "pipe:", "socket:"))


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def append_records(records: Sequence[tuple[str | os.PathLike[str], str]], create: bool = False) -> None:
    """Append each text to its file, all or nothing.

    Records for the same file are joined and go out in one ``O_APPEND`` write,
    so concurrent writers never interleave inside a record. Every file is
    opened and locked (``flock``, in one fixed order, so writers cannot
    deadlock) before anything is written; if any write fails, the files already
    written are cut back to the length they had under the lock, which removes
    exactly this call's bytes. ``create`` makes missing files with mode 0600.
    """
    texts: dict[str, list[str]] = {}
    for path, text in records:
        texts.setdefault(os.fspath(path), []).append(text)
    flags = os.O_WRONLY | os.O_APPEND | _NOFOLLOW | (os.O_CREAT if create else 0)
    fds: list[int] = []
    planned: list[tuple[int, int, str, bytes]] = []  # fd, length before our write, name, data
    try:
        for name in sorted(texts):
            try:
                fd = os.open(name, flags, SECRET_FILE_MODE)
            except OSError as error:
                raise OutputError(f"cannot open {name} for appending: {_reason(error)}") from None
            fds.append(fd)
            _lock(fd)
            planned.append((fd, os.fstat(fd).st_size, name, "".join(texts[name]).encode("utf-8")))
        written: list[tuple[int, int]] = []
        for fd, size, name, data in planned:
            try:
                if os.write(fd, data) != len(data):
                    raise OSError(0, "short write (device full?)")
                written.append((fd, size))
            except OSError as error:
                for done_fd, done_size in written + [(fd, size)]:
                    _truncate_quietly(done_fd, done_size)
                raise OutputError(f"cannot append to {name}: {_reason(error)}; nothing was written") from None
    finally:
        for fd in fds:
            os.close(fd)  # also releases the lock


def _lock(fd: int) -> None:
    """Hold other xctoken writers off this file until our records are in (POSIX; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # Windows: one step writes its own file-command files
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        pass  # devices and some file systems cannot lock; the single write still keeps records whole


def _truncate_quietly(fd: int, size: int) -> None:
    try:
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
    except OSError:
        pass
