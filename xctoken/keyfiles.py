"""Write the files a job's later steps mint with: the key, fastlane's JSON, a launcher.

Both job setups use this: the GitHub Actions (:mod:`xctoken.action`) under
RUNNER_TEMP and the Bitrise step (:mod:`xctoken.bitrise_step`) in its
per-build directory. :mod:`xctoken.ondemand` decides what goes in them.

The container action runs as root in a directory the runner's user owns, and
hands every file to that user. That user can rename entries in its own
directories at any moment, so ownership and modes are changed on open
descriptors (``O_NOFOLLOW``), never by path: a symlink swapped in cannot make
root chown or chmod a file that is not ours.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .claims import AUDIENCE_APP_STORE_CONNECT
from .errors import OutputError
from .files import write_secret_file
from .ondemand import KeySetup
from .settings import Resolved

Owner = tuple[int, int]  # uid, gid
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


@dataclass(frozen=True)
class KeyFiles:
    """Where the key files go: ``local`` paths to write, ``host`` paths to report.

    They differ only in GitHub's container action, where the runner's temp
    directory is mounted at another path than later steps see.
    """

    local_dir: Path
    host_dir: str

    def local(self, *parts: str) -> Path:
        return self.local_dir.joinpath(*parts)

    def host(self, *parts: str) -> str:
        return join(self.host_dir, *parts)


def join(base: str, *parts: str) -> str:
    # A Windows runner's RUNNER_TEMP is D:\a\_temp: keep its separator.
    sep = "\\" if ("\\" in base and "/" not in base) else "/"
    return sep.join([base.rstrip("\\/"), *parts])


def _set_owner_and_mode(fd: int, owner: Owner | None, mode: int) -> None:
    if owner is not None:
        os.fchown(fd, *owner)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def make_private_dir(path: Path, owner: Owner | None) -> None:
    """Create ``path`` (or take the directory already there) as 0700, owned by ``owner``."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        if os.name != "posix":
            return
        fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
    except OSError as error:
        reason = "it is a symbolic link or not a directory; remove it" if path.is_symlink() or \
            (path.exists() and not path.is_dir()) else f"{error.strerror}{_ROOT_HINT if _as_root() else ''}"
        raise OutputError(f"cannot create the private directory {path}: {reason}") from None
    try:
        _set_owner_and_mode(fd, owner, 0o700)
    except OSError as error:
        _remove_empty(path)
        raise OutputError(f"cannot make {path} private: {error.strerror}{_ROOT_HINT if _as_root() else ''}") \
            from None
    finally:
        os.close(fd)


# Root without CAP_CHOWN / CAP_DAC_OVERRIDE (docker run --cap-drop ALL) can neither write in
# the runner user's directory nor hand a file over to that user.
_ROOT_HINT = ("; this container runs as root without the capabilities to write files for the runner's "
              "user (--cap-drop?): set mint-on-demand: false (one token, no key file), or use the "
              "portable action (xctoken/xctoken-action/portable)")


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _remove_empty(path: Path) -> None:
    try:
        path.rmdir()  # only if this run made it and nothing is in it
    except OSError:
        pass


def hand_over(path: Path, owner: Owner | None, mode: int = 0o600) -> None:
    """Give a file this run just wrote to ``owner`` (the runner's user) with ``mode``."""
    if os.name != "posix" or (owner is None and mode == 0o600):
        return
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError as error:
        raise OutputError(f"cannot open {path.name} to hand it over: {error.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputError(f"{path.name} was replaced by something that is not a file; nothing was handed over")
        _set_owner_and_mode(fd, owner, mode)
    except OSError as error:
        # Failing closed: making the file world-readable instead would expose the key
        # to every user and container on a shared self-hosted machine.
        who = f"the runner's user (uid {owner[0]})" if owner else "its owner"
        raise OutputError(f"cannot give {path.name} to {who}: {error.strerror}; later steps could not "
                          "read it") from None
    finally:
        os.close(fd)


# fastlane signs its own tokens from this file with iat = now - 60 and exp = now + duration
# (Spaceship::ConnectAPI::Token#refresh!), so they live duration + 60 s: a duration of 1200
# would give 1260 s, over Apple's 20 minutes, and a 401 (fastlane/fastlane#29468).
FASTLANE_MAX_DURATION = 1200 - 60


def fastlane_api_key(key_id: str, issuer_id: str | None, pem: str, lifetime: int, in_house: bool) -> str:
    """fastlane's API key JSON (``app_store_connect_api_key(path:)``, ``--api_key_path``)."""
    data: dict[str, object] = {"key_id": key_id}
    if issuer_id:
        data["issuer_id"] = issuer_id
    data.update({"key": pem, "duration": min(lifetime, FASTLANE_MAX_DURATION), "in_house": in_house})
    return json.dumps(data, indent=2) + "\n"


def write_key_files(resolved: Resolved, files: KeyFiles, owner: Owner | None, with_json: bool,
                    made: list[Path]) -> KeySetup:
    """Write private_keys/AuthKey_<KEYID>.p8 and, if asked, fastlane's JSON (0600), noting each in ``made``."""
    request = resolved.request
    key_name = f"AuthKey_{request.key_id}.p8"
    json_name = f"api_key_{request.key_id}.json"
    pem = resolved.key.pkcs8_pem()
    in_house = getattr(request, "audience", AUDIENCE_APP_STORE_CONNECT) != AUDIENCE_APP_STORE_CONNECT
    make_private_dir(files.local_dir, owner)
    make_private_dir(files.local("private_keys"), owner)
    contents = [(files.local("private_keys", key_name), pem)]
    if with_json:
        contents.append((files.local(json_name), fastlane_api_key(
            request.key_id, request.issuer_id, pem, int(request.lifetime or 0), in_house)))
    for path, content in contents:
        write_secret_file(path, content)
        made.append(path)
        hand_over(path, owner)
    return KeySetup(key_id=request.key_id, issuer_id=request.issuer_id,
                    key_path=files.host("private_keys", key_name), keys_dir=files.host("private_keys"),
                    api_key_json=files.host(json_name), in_house=in_house)


def write_launchers(files: KeyFiles, scripts: dict[str, str], owner: Owner | None, made: list[Path]) -> str:
    """Write each launcher script into ``bin`` (0700: only the step's user runs it); the host dir."""
    make_private_dir(files.local("bin"), owner)
    for name, text in scripts.items():
        path = files.local("bin", name)
        write_secret_file(path, text)
        made.append(path)
        hand_over(path, owner, 0o700)  # it holds no secret, but nobody else needs to run it
    return files.host("bin")


def remove_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def remove_empty_dirs(base: Path) -> None:
    """Remove what :func:`write_key_files` and :func:`write_launchers` created under ``base``, if empty."""
    for directory in (base / "bin", base / "private_keys", base):
        try:
            directory.rmdir()
        except OSError:
            pass
