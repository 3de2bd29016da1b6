"""Write secrets to files all-or-nothing, readable by the owner only.

Two shapes cover every sink: replacing a file atomically (``--output``, key
files, fastlane's JSON) and appending records to files other programs read
(GITHUB_OUTPUT, GITHUB_ENV, dotenv reports, $BASH_ENV, $CM_ENV). Files are
created with mode 0600 from the first byte; no chmod window.

Every path a user names for a secret (``--output``, ``--dotenv``, ``$BASH_ENV``,
``$GITHUB_ENV``...) passes :func:`check_output_path` first: a private key pasted
where the path belongs is refused without being echoed, and never becomes a
file name. The same test (:func:`looks_like_key_text`) guards the key paths.

Paths are text (``os.path``) here and in :mod:`xctoken.settings`: importing pathlib
(with fnmatch, ntpath and urllib.parse) cost about 3 ms of every ``xctoken generate``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence

from .console import signals_held
from .errors import ConfigError, OutputError

SECRET_FILE_MODE = 0o600
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

# Key text where a path belongs: PEM armor or a line break says so outright. (Not a literal
# backslash-n: C:\Users\me\notes is a path, and a PEM written with such escapes keeps its armor.)
_KEY_TEXT_MARKS = ("-----", "\n", "\r")
# A run of base64 characters with no '.', '-', '_' or space, long enough to be encoded data...
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{40,}")
# ...holding the EC key OID (1.2.840.10045: every App Store Connect key has it) base64-encoded
# at any of the three alignments, or base64 of "-----" (a whole .p8 file encoded)...
_ENCODED_KEY_MARKS = ("KoZIzj0", "qGSM49", "qhkjOP", "LS0tLS")
# ...or a piece between slashes that mixes case and digits the way random bytes do.
_MIN_ENCODED_PIECE = 20
_MIN_CLASS_CHANGES = 0.4


def looks_like_key_text(value: str) -> bool:
    """True when a value given as a path is more likely a key's content (PEM or base64) than a file name.

    Words in a path change between upper case, lower case and digits rarely
    (``/Users/JohnAppleseed/Library/Developer``, ``MyProject2024``) and a hex
    digest is of one case; base64 of random bytes changes at about two
    characters in three. Tuned so that no path seen in practice trips it, while
    every PEM, every base64 of a key or of its file, and nearly every single
    line of a PEM body does.
    """
    if any(mark in value for mark in _KEY_TEXT_MARKS):
        return True
    for run in _BASE64_RUN.findall(value):
        if any(mark in run for mark in _ENCODED_KEY_MARKS):
            return True
        if any(_looks_encoded(piece) for piece in run.split("/")):
            return True
    return False


def _char_class(char: str) -> int:
    return 0 if char.isupper() else 1 if char.islower() else 2 if char.isdigit() else 3


def _looks_encoded(piece: str) -> bool:
    if len(piece) < _MIN_ENCODED_PIECE:
        return False
    classes = [_char_class(char) for char in piece]
    if not {0, 1, 2} <= set(classes):
        return False
    changes = sum(a != b for a, b in zip(classes, classes[1:], strict=False))
    return changes >= _MIN_CLASS_CHANGES * (len(classes) - 1)


def check_output_path(path: str | os.PathLike[str], origin: str) -> str:
    """``path`` as text, or :class:`ConfigError` naming ``origin`` (never the value) when it is no path.

    ``origin`` is the option or variable the path came from (``--output``,
    ``$BASH_ENV``). An empty value would mean stdout or the current directory,
    and key text (``--output "$ASC_PRIVATE_KEY"``) would be quoted in errors or
    become the name of the file that receives the token.
    """
    text = os.fspath(path)
    if not text.strip():
        raise ConfigError(f"{origin} is empty (an unset variable?); set it to the path of a file")
    if looks_like_key_text(text):
        raise ConfigError(f"{origin} should be a path, but its value (not shown) looks like a private key "
                          "or a token; set it to a path, and keep the key itself in ASC_PRIVATE_KEY")
    return text


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def write_secret_file(path: str | os.PathLike[str], content: str | bytes, *,
                      origin: str = "the output path") -> str:
    """Atomically replace ``path`` with ``content``, mode 0600; the path written, as text.

    The data goes to a temporary file in the same directory that is renamed over
    the target only once fully written and synced, so readers see the old file or
    the new one, never half of one, and an interrupted write leaves nothing.
    ``origin`` names where the path came from in the refusal of key text.
    """
    target = os.fspath(check_output_path(path, origin))
    data = content.encode("utf-8") if isinstance(content, str) else content
    directory = os.path.dirname(target) or "."
    if _is_stream(target):
        # Renaming over /dev/null or /dev/stdout would replace the device itself (as root,
        # for every process on the machine) with a file holding the secret.
        raise OutputError(f"{target} is a device, pipe or standard stream, not a file; name a file, or "
                          "leave out --output to print to standard output")
    import tempfile  # here, not at the top: `generate` without --output never writes a file

    try:
        # mkstemp creates the file O_EXCL with mode 0600.
        fd, temp_name = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
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


def _is_stream(target: str) -> bool:
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
    # Linux: /dev/stdout -> /proc/self/fd/1; macOS and the BSDs: /dev/stdout -> fd/1 (/dev/fd/1).
    return link.startswith(("/proc/", "pipe:", "socket:", "/dev/fd/", "fd/"))


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def append_records(records: Sequence[tuple[str | os.PathLike[str], str]], create: bool = False, *,
                   private: bool = False, origins: Mapping[str, str] | None = None,
                   on_written: Callable[[], None] | None = None) -> None:
    """Append each text to its file, all or nothing.

    Records for the same file are joined and go out in one ``O_APPEND`` write,
    so concurrent writers never interleave inside a record. "The same file" is
    the same inode: GITHUB_ENV and GITHUB_OUTPUT naming one file under two
    spellings (``dir/./env``, a hard link) get one write under one lock (two
    locks on one file would wait for each other forever). Every file is opened
    without blocking (a FIFO or device is refused, never waited on), checked
    and locked (``flock``, in one fixed order, so writers cannot deadlock)
    before anything is written; a file whose last line has no newline gets one
    first, so our first record is not glued onto that line. If any write fails,
    the files already written are cut back to the length they had under the
    lock, which removes exactly this call's bytes.

    ``create`` makes missing files with mode 0600. ``private`` refuses an existing
    file that another user owns or that others may write (see :func:`_check_private`).
    ``on_written`` runs once every record is in, before a cancel that came
    meanwhile is delivered: what depends on the records (the action keeping its
    key files) is decided there.
    ``origins`` maps a path to the option or variable it came from, for messages.
    """
    names: list[str] = []
    for path, _text in records:
        name = os.fspath(path)
        if name not in names:
            check_output_path(name, (origins or {}).get(name, "a file to append the token to"))
            names.append(name)
    fds: list[int] = []
    try:
        # Open and check every file before locking any; one target per inode.
        targets: dict[tuple[int, int], tuple[int, str, bool]] = {}  # identity -> fd, name, readable
        identity_of: dict[str, tuple[int, int]] = {}
        for name in names:
            fd, readable = _open_for_append(name, create)
            info = os.fstat(fd)
            identity = (info.st_dev, info.st_ino)
            if identity in targets:
                os.close(fd)  # an alias of a file already open: flock on a second fd would wait forever
            else:
                fds.append(fd)
                _check_target(name, info, private)
                targets[identity] = (fd, name, readable)
            identity_of[name] = identity
        texts: dict[tuple[int, int], list[str]] = {identity: [] for identity in targets}
        for path, text in records:
            texts[identity_of[os.fspath(path)]].append(text)
        planned: list[tuple[int, int, str, bytes]] = []  # fd, length before our write, name, data
        for identity in sorted(targets):  # inode order: the same for every writer, whatever the names
            fd, name, readable = targets[identity]
            _lock(fd)
            size = os.fstat(fd).st_size
            data = "".join(texts[identity]).encode("utf-8")
            if size and _last_byte(fd, size, readable) != b"\n":
                # A last line without its newline (printf 'x' > "$BASH_ENV") would swallow our first record.
                data = b"\n" + data
            planned.append((fd, size, name, data))
        written: list[tuple[int, int]] = []
        with signals_held():  # a cancel lands before the first write or after the last, never between
            for fd, size, name, data in planned:
                try:
                    if os.write(fd, data) != len(data):
                        raise OSError(0, "short write (device full?)")
                    written.append((fd, size))
                except BaseException as error:  # a failed write, or a bug: this call's bytes go again
                    for done_fd, done_size in written + [(fd, size)]:
                        _truncate_quietly(done_fd, done_size)
                    if isinstance(error, OSError):
                        raise OutputError(f"cannot append to {name}: {_reason(error)}; nothing was written") \
                            from None
                    raise
            if on_written is not None:
                on_written()  # still before any held signal is delivered: the caller's commit point
    finally:
        for fd in fds:
            os.close(fd)  # also releases the lock


def _open_for_append(name: str, create: bool) -> tuple[int, bool]:
    """An fd for appending to ``name`` (and whether it can also read), opened without blocking.

    ``O_NONBLOCK`` keeps a FIFO with no reader from hanging the open (a FIFO is
    then refused by :func:`_check_target`); it is cleared right after, so the
    write itself blocks as a write to a file does. Read access lets the last
    byte be checked; a write-only file still works.
    """
    flags = os.O_APPEND | _NOFOLLOW | _NONBLOCK | (os.O_CREAT if create else 0)
    try:
        try:
            fd = os.open(name, flags | os.O_RDWR, SECRET_FILE_MODE)
            readable = True
        except PermissionError:
            fd = os.open(name, flags | os.O_WRONLY, SECRET_FILE_MODE)
            readable = False
    except OSError as error:
        if error.errno == errno.ENXIO:  # a FIFO nobody reads (O_NONBLOCK: refused, not waited on)
            raise OutputError(f"{name} is not a regular file (a pipe or device); name a regular file; "
                              "nothing was written") from None
        raise OutputError(f"cannot open {name} for appending: {_reason(error)}") from None
    if _NONBLOCK:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
    return fd, readable


def _check_target(name: str, info: os.stat_result, private: bool) -> None:
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block the write, a device (/dev/full, a terminal) is no file a CI reads back.
        raise OutputError(f"{name} is not a regular file (a pipe or device); name a regular file; "
                          "nothing was written")
    if private:
        _check_private(name, info)


def _check_private(name: str, info: os.stat_result) -> None:
    """Refuse a file someone else could read the token from or write commands into.

    Applied to the files a user names for the token outside GitHub (``--dotenv``,
    ``$BASH_ENV``, ``$CM_ENV``): one in /tmp may have been planted by another user,
    who can read whatever is appended (the owner can always chmod), and one that
    others may write lets them add commands the next CI step runs. Root is no
    exception: root appending the token to another user's file hands it to that user.

    Not applied to GitHub's file commands (GITHUB_ENV, GITHUB_OUTPUT, ...): the
    runner creates those in its own temp directory for the step, owned by the
    runner's user (uid 1001 on hosted machines) while the container action runs
    as root, with whatever mode its umask gives (0644 hosted, 0664 under a
    self-hosted umask 002); refusing them would refuse every such runner.
    """
    if os.name != "posix":
        return
    if info.st_uid != os.geteuid():
        raise OutputError(f"{name} belongs to another user (uid {info.st_uid}), who could read the token; "
                          "remove it or name a file of your own; nothing was written")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "everyone" if info.st_mode & stat.S_IWOTH else "its group"
        raise OutputError(f"{name} can be written by {who} (mode {stat.S_IMODE(info.st_mode):o}), so others could "
                          "change what later steps read; run chmod go-w on it; nothing was written")


def _last_byte(fd: int, size: int, readable: bool) -> bytes:
    """The file's last byte; a newline is assumed missing when the file cannot be read."""
    if not readable:
        return b""
    try:
        if hasattr(os, "pread"):
            return os.pread(fd, 1, size - 1)
        os.lseek(fd, size - 1, os.SEEK_SET)  # Windows; O_APPEND still writes at the end
        return os.read(fd, 1)
    except OSError:
        return b""


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
