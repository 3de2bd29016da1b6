"""Where the credentials come from: flags, environment variables and key files.

One precedence, documented in the README: command-line flags, then the
environment. The credentials come from three families of variables, in this
order: the project's own ``ASC_*`` (shared with the ``asc`` CLI), fastlane's
``APP_STORE_CONNECT_API_KEY_*`` and the original Ruby gem's ``KEY_ID`` /
``ISSUER_ID`` / ``KEY_DIR``. When no key is named, the directories altool and
notarytool search are tried. The claims settings that have no variable in
those families (key type, audience, scope, clock skew) have an ``XCTOKEN_*``
variable each, named after the flag: that is what lets the actions configure a
job once and every later ``xctoken generate`` mint the same kind of token.

This module reads the environment and the file system; everything it finds is
handed to the pure core (:mod:`xctoken.claims`, :mod:`xctoken.keys`). Paths are
text (``str``, ``os.path``): pathlib is not imported on the way to a token.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from .claims import (
    APP_STORE_CONNECT,
    AUDIENCE_APP_STORE_CONNECT,
    AUDIENCE_ENTERPRISE,
    DEFAULT_CLOCK_SKEW,
    UUID_PATTERN,
    KeyType,
    TokenRequest,
    normalize_key_id,
    parse_key_type,
)
from .errors import ConfigError, KeyLoadError, KeyNotFoundError, XctokenError
from .files import looks_like_key_text
from .keys import MAX_KEY_INPUT_BYTES, LoadedKey, load_private_key

if TYPE_CHECKING:
    from .services import ServiceRequest

DEFAULT_SERVICE = APP_STORE_CONNECT
FLAGS = {name: "--" + name.replace("_", "-") for name in ("team_id", "client_id", "bundle_id", "services_id",
                                                          "origin")}

XCTOKEN, ASC, FASTLANE, GEM = "XCTOKEN_* variables", "ASC_* variables", "fastlane variables", "Ruby gem variables"

# Per setting, the environment variables that can provide it, highest first.
ENV_VARIABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "key_id": ((ASC, "ASC_KEY_ID"), (FASTLANE, "APP_STORE_CONNECT_API_KEY_KEY_ID"), (GEM, "KEY_ID")),
    "issuer_id": ((ASC, "ASC_ISSUER_ID"), (FASTLANE, "APP_STORE_CONNECT_API_KEY_ISSUER_ID"),
                  (GEM, "ISSUER_ID")),
    "key": ((ASC, "ASC_PRIVATE_KEY_PATH"), (ASC, "ASC_PRIVATE_KEY"), (ASC, "ASC_PRIVATE_KEY_B64"),
            (FASTLANE, "APP_STORE_CONNECT_API_KEY_KEY_FILEPATH"), (FASTLANE, "APP_STORE_CONNECT_API_KEY_KEY"),
            (GEM, "KEY_DIR")),
    "key_type": ((XCTOKEN, "XCTOKEN_KEY_TYPE"),),
    "audience": ((XCTOKEN, "XCTOKEN_AUDIENCE"),),
    "lifetime": ((XCTOKEN, "XCTOKEN_LIFETIME"), (FASTLANE, "APP_STORE_CONNECT_API_KEY_DURATION")),
    "clock_skew": ((XCTOKEN, "XCTOKEN_CLOCK_SKEW"),),
    "scope": ((XCTOKEN, "XCTOKEN_SCOPE"),),  # one request per line
    "in_house": ((FASTLANE, "APP_STORE_CONNECT_API_KEY_IN_HOUSE"),),
    # The other Apple services (xctoken.services): which one, and its inputs.
    "service": ((XCTOKEN, "XCTOKEN_SERVICE"),),
    "team_id": ((XCTOKEN, "XCTOKEN_TEAM_ID"),),
    "client_id": ((XCTOKEN, "XCTOKEN_CLIENT_ID"),),
    "bundle_id": ((XCTOKEN, "XCTOKEN_BUNDLE_ID"),),
    "services_id": ((XCTOKEN, "XCTOKEN_SERVICES_ID"),),
    "origin": ((XCTOKEN, "XCTOKEN_ORIGIN"),),  # one origin per line
}
# For hints: the variable a user of each family sets for a missing credential.
_HINT_NAMES = {
    ASC: {"key_id": "ASC_KEY_ID", "issuer_id": "ASC_ISSUER_ID", "key": "ASC_PRIVATE_KEY_PATH or ASC_PRIVATE_KEY"},
    FASTLANE: {"key_id": "APP_STORE_CONNECT_API_KEY_KEY_ID", "issuer_id": "APP_STORE_CONNECT_API_KEY_ISSUER_ID",
               "key": "APP_STORE_CONNECT_API_KEY_KEY_FILEPATH or APP_STORE_CONNECT_API_KEY_KEY"},
    GEM: {"key_id": "KEY_ID", "issuer_id": "ISSUER_ID", "key": "KEY_DIR (the directory holding AuthKey_<KEYID>.p8)"},
}
# Variables holding a path (file or directory) rather than the key itself.
_PATH_VARIABLES = {"ASC_PRIVATE_KEY_PATH", "APP_STORE_CONNECT_API_KEY_KEY_FILEPATH"}
_DIR_VARIABLES = {"KEY_DIR"}
# Where altool and notarytool look for AuthKey_<KEYID>.p8 (API_PRIVATE_KEYS_DIR first:
# a directory named explicitly beats the conventional ones).
ALTOOL_DIRS = ("./private_keys", "~/private_keys", "~/.private_keys", "~/.appstoreconnect/private_keys")
# AuthKey_ for every developer and App Store Connect key; SubscriptionKey_ for In-App Purchase keys.
_KEY_FILE_NAME = re.compile(r"(?:AuthKey|SubscriptionKey)_([A-Z0-9]{10})\.p8")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_TRUE = {"1", "true", "yes", "on"}


class Options(NamedTuple):
    """What the command line said (``None`` = not given).

    Records here are NamedTuples where a dataclass would do no more: each dataclass costs
    about half a millisecond to create at import, and ``xctoken generate`` pays that.
    """

    key_id: str | None = None
    issuer_id: str | None = None
    key_path: str | None = None  # a file, or "-" for stdin
    key_dir: str | None = None
    key_env: str | None = None  # name of a variable holding the key
    key_type: str | None = None
    audience: str | None = None
    enterprise: bool = False
    lifetime: str | None = None
    clock_skew: str | None = None
    scope: Sequence[str] = ()
    service: str | None = None  # None: App Store Connect, unless XCTOKEN_SERVICE names another
    team_id: str | None = None
    client_id: str | None = None
    bundle_id: str | None = None
    services_id: str | None = None
    origin: Sequence[str] = ()


class KeyLocation(NamedTuple):
    """Where the key was found; ``describe()`` is safe to print.

    ``path`` (kind "file") is the key file's path as text (``str``), as given with ``~``
    expanded (``os.path.expanduser``).
    """

    kind: str  # "file", "env" or "stdin"
    origin: str  # the flag or variable that led here
    path: str | None = None
    env_name: str | None = None

    def describe(self) -> str:
        if self.kind == "file":
            return f"file {self.path} (from {self.origin})"
        if self.kind == "env":
            return f"content of ${self.env_name}"
        return "standard input"


class Resolved(NamedTuple):
    """What resolve() found: the request, the key, where it was, and what to tell the user."""

    request: TokenRequest | ServiceRequest
    key: LoadedKey
    location: KeyLocation
    sources: dict[str, str]  # setting -> the flag or variable it came from
    warnings: list[str]


def env_value(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value is not None and value.strip() else None


class _Picker:
    """Picks each setting from flags, then the environment, noting sources and conflicts."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.sources: dict[str, str] = {}
        self.warnings: list[str] = []

    def pick(self, setting: str, flag_value: str | None, flag_name: str, secret: bool = False,
             skip_family: str | None = None) -> str | None:
        if flag_value is not None:
            self.sources[setting] = flag_name
            return flag_value
        found = [(family, name, self.env[name]) for family, name in ENV_VARIABLES[setting]
                 if env_value(self.env, name) is not None and family != skip_family]
        if not found:
            return None
        family, name, value = found[0]
        # Values are compared, never echoed. Two sources that agree are no conflict (the
        # actions export the same key path under several tools' names); for a secret any
        # disagreement is worth a warning, for a plain setting one across families.
        others = [n for f, n, v in found[1:] if v.strip() != value.strip() and (secret or f != family)]
        if others:
            self.warnings.append(
                f"{', '.join(others)} also set ({'a key' if secret else 'a different value'}); "
                f"using {name} from the {family}"
            )
        self.sources[setting] = name
        return value


def _lines(text: str | None) -> list[str]:
    return [line for line in (text or "").splitlines() if line.strip()]


def user_family(env: Mapping[str, str], sources: Mapping[str, str]) -> str:
    """The credential family the user's other settings come from, for naming a missing one.

    The family of the settings already picked wins; else the family of any credential
    variable that is set; else (none, or a mix) the project's own ``ASC_*``.
    """
    order = (ASC, FASTLANE, GEM)
    used = families_used(sources)
    if not used:
        used = sorted({family for setting in ("key_id", "issuer_id", "key")
                       for family, name in ENV_VARIABLES[setting] if env_value(env, name) is not None})
    return used[0] if len(used) == 1 and used[0] in order else ASC


def hint_variable(setting: str, env: Mapping[str, str], sources: Mapping[str, str]) -> str:
    """The variable to set for a missing ``setting`` (key_id, issuer_id, key), in the user's family."""
    return _HINT_NAMES[user_family(env, sources)][setting]


def resolve_request(options: Options, picker: _Picker, key_id: str | None) -> TokenRequest | ServiceRequest:
    """Build the token request from flags and environment, given the key ID already picked."""
    if key_id is None:
        raise ConfigError(f"the key ID is missing; pass --key-id or set "
                          f"{hint_variable('key_id', picker.env, picker.sources)}, "
                          "or name the key file AuthKey_<KEYID>.p8")
    service = picker.pick("service", options.service, "--service")
    if service is not None and service.strip().lower() != DEFAULT_SERVICE:
        return _service_request(service, options, picker, key_id)
    for name in SERVICE_INPUTS:
        given = getattr(options, name)
        if given:  # the XCTOKEN_* variables of another service's job are not an error here
            raise ConfigError(f"{FLAGS[name]} is for the other Apple services; add --service NAME "
                              "(xctoken services lists them) or drop it")
    issuer_id = picker.pick("issuer_id", options.issuer_id, "--issuer-id")
    # A job set up for another service (XCTOKEN_SERVICE=maps) has XCTOKEN_* claims settings for that
    # service's token: an App Store Connect token asked for in it does not take them.
    job_service = (env_value(picker.env, "XCTOKEN_SERVICE") or DEFAULT_SERVICE).strip().lower()
    skip = XCTOKEN if job_service != DEFAULT_SERVICE else None
    lifetime = picker.pick("lifetime", options.lifetime, "--lifetime", skip_family=skip)
    clock_skew = picker.pick("clock_skew", options.clock_skew, "--clock-skew", skip_family=skip)
    key_type = picker.pick("key_type", options.key_type, "--key-type", skip_family=skip)
    audience = picker.pick("audience", options.audience, "--audience", skip_family=skip)
    if audience is None:
        # fastlane's in-house flag is consulted (and noted as a source) only when it decides.
        in_house = None if options.enterprise else picker.pick("in_house", None, "")
        enterprise = options.enterprise or (in_house or "").strip().lower() in _TRUE
        audience = AUDIENCE_ENTERPRISE if enterprise else AUDIENCE_APP_STORE_CONNECT
    scope: Sequence[str] = options.scope
    if not scope:
        scope_text = picker.pick("scope", None, "--scope", skip_family=skip)
        scope = [line for line in (scope_text or "").splitlines() if line.strip()]
    # Checked here, not only by TokenRequest, to name the variable of the user's family.
    if issuer_id is None:
        normalize_key_id(key_id)  # a malformed key ID is still reported first, as TokenRequest would
    if issuer_id is None and parse_key_type(key_type or KeyType.TEAM) is KeyType.TEAM:
        raise ConfigError(f"the issuer ID is missing; set --issuer-id (or "
                          f"{hint_variable('issuer_id', picker.env, picker.sources)}) for a team key, "
                          "or pass --key-type individual if this is an individual key")
    kwargs: dict[str, object] = {}
    if lifetime is not None:
        kwargs["lifetime"] = lifetime
    if clock_skew is not None:
        kwargs["clock_skew"] = clock_skew
    if key_type is not None:
        kwargs["key_type"] = key_type
    return TokenRequest(key_id=key_id, issuer_id=issuer_id, audience=audience,
                        scope=tuple(scope), **kwargs)  # type: ignore[arg-type]


# The inputs only the other services take.
SERVICE_INPUTS = ("team_id", "client_id", "bundle_id", "services_id", "origin")


def _service_request(service: str, options: Options, picker: _Picker, key_id: str) -> ServiceRequest:
    from .services import ServiceRequest, get

    profile = get(service)
    for flag, given in (("--key-type", options.key_type), ("--audience", options.audience),
                        ("--enterprise", options.enterprise or None)):
        if given:
            raise ConfigError(f"{flag} is for App Store Connect tokens; {profile.title} tokens take "
                              "their claims from the service's profile")
    # The job's claims settings (XCTOKEN_LIFETIME, _SCOPE, _ORIGIN, fastlane's DURATION) describe the
    # job's own token: they apply only when the job was set up for this service (XCTOKEN_SERVICE),
    # never to an --service of another kind (a 20-minute App Store Connect lifetime would make a
    # 20-minute Sign in with Apple secret).
    job_service = env_value(picker.env, "XCTOKEN_SERVICE")
    from_job = job_service is not None and job_service.strip().lower() == profile.name
    scope = list(options.scope) or (_lines(picker.pick("scope", None, "--scope")) if from_job else [])
    origin = list(options.origin) or (_lines(picker.pick("origin", None, "--origin")) if from_job else [])
    values = {name: picker.pick(name, getattr(options, name), "--" + name.replace("_", "-"))
              for name in ("issuer_id", "team_id", "client_id", "bundle_id", "services_id")}
    # Another service's claims settings (XCTOKEN_LIFETIME from an App Store Connect job) must
    # not leak into this one: only flags and variables this profile takes are used.
    allowed = set(profile.required) | set(profile.optional)
    picked = {name: value for name, value in values.items()
              if value is not None and (name in allowed or picker.sources.get(name, "").startswith("--"))}
    lifetime = picker.pick("lifetime", options.lifetime, "--lifetime") if from_job else options.lifetime
    if profile.lifetime.counted_from == "none" and options.lifetime is None:
        lifetime = None  # no exp claim: only an explicit --lifetime is a mistake worth refusing
    clock_skew = picker.pick("clock_skew", options.clock_skew, "--clock-skew")
    return ServiceRequest(service=profile.name, key_id=key_id, scope=tuple(scope), origin=tuple(origin),
                          lifetime=lifetime, clock_skew=clock_skew if clock_skew is not None else DEFAULT_CLOCK_SKEW,
                          **picked)


def key_id_from_filename(path: str | os.PathLike[str]) -> str | None:
    match = _KEY_FILE_NAME.fullmatch(os.path.basename(path))
    return match.group(1) if match else None


def locate_key(options: Options, env: Mapping[str, str], picker: _Picker, key_id: str | None) -> KeyLocation:
    """Find the key: --key, --key-env, --key-dir, the variables, then altool's directories."""
    if options.key_path is not None:
        picker.sources["key"] = "--key"
        if options.key_path.strip() == "-":
            return KeyLocation("stdin", "--key -")
        return KeyLocation("file", "--key", path=os.path.expanduser(options.key_path))
    if options.key_env is not None:
        picker.sources["key"] = "--key-env"
        if not _ENV_NAME.fullmatch(options.key_env.strip()):
            # Never echo it: the usual slip is --key-env "$ASC_PRIVATE_KEY", the key itself.
            raise KeyNotFoundError("--key-env takes the name of an environment variable (like "
                                   "ASC_PRIVATE_KEY), not its value")
        if env_value(env, options.key_env) is None:
            raise KeyNotFoundError(f"--key-env names ${options.key_env}, which is not set or empty")
        return KeyLocation("env", "--key-env", env_name=options.key_env)
    if options.key_dir is not None:
        picker.sources["key"] = "--key-dir"
        return _key_in_directory(os.path.expanduser(options.key_dir), key_id, "--key-dir")
    name = _picked_variable(picker)
    if name in _PATH_VARIABLES:
        return KeyLocation("file", name, path=os.path.expanduser(env[name].strip()))
    if name in _DIR_VARIABLES:
        return _key_in_directory(os.path.expanduser(env[name].strip()), key_id, name)
    if name is not None:
        return KeyLocation("env", name, env_name=name)
    return _key_in_altool_dirs(env, key_id, picker)


def _picked_variable(picker: _Picker) -> str | None:
    picker.pick("key", None, "", secret=True)
    return picker.sources.get("key")


def _key_in_directory(directory: str, key_id: str | None, origin: str) -> KeyLocation:
    # os.path.isfile and os.path.exists are False for any OSError too: a name too long (key
    # text given as a directory) is then reported by reading it, which says what is wrong.
    if os.path.isfile(directory):
        # A common slip: the key file's own path in the directory variable.
        raise KeyNotFoundError(f"{origin} names a file, not a directory: set it to the directory that holds "
                               "AuthKey_<KEYID>.p8, or put the file's path in ASC_PRIVATE_KEY_PATH (or --key)")
    if key_id is not None:
        # The key ID names the file, so only the two shapes of key ID (both path-safe) are taken:
        # 10 characters, or the UUIDs of Apple Business/School Manager and Apple Ads keys.
        stripped = key_id.strip()
        safe = stripped if UUID_PATTERN.fullmatch(stripped) else normalize_key_id(stripped)
        path = os.path.join(directory, f"AuthKey_{safe}.p8")
        in_app_purchase = os.path.join(directory, f"SubscriptionKey_{safe}.p8")  # an In-App Purchase key's own name
        if not os.path.exists(path) and os.path.exists(in_app_purchase):
            path = in_app_purchase
        return KeyLocation("file", origin, path=path)
    candidates = _key_files(directory)
    if len(candidates) == 1:
        return KeyLocation("file", origin, path=candidates[0])
    if not candidates:
        _refuse_key_text(directory, origin)
        raise KeyNotFoundError(f"no AuthKey_<KEYID>.p8 file in {directory} (from {origin}); "
                               "put the key there or pass --key PATH")
    raise KeyNotFoundError(f"{len(candidates)} AuthKey_*.p8 files in {directory}; "
                           "pass --key-id to choose one")


def _key_files(directory: str) -> list[str]:
    try:
        names = sorted(name for name in os.listdir(directory) if _KEY_FILE_NAME.fullmatch(name))
    except OSError:
        return []
    return [os.path.join(directory, name) for name in names]


def altool_directories(env: Mapping[str, str]) -> list[str]:
    """The directories altool and notarytool search, in order, as text (see :class:`KeyLocation`)."""
    dirs = []
    if env_value(env, "API_PRIVATE_KEYS_DIR"):
        dirs.append(env["API_PRIVATE_KEYS_DIR"].strip())
    home = env_value(env, "HOME")
    for entry in ALTOOL_DIRS:
        if entry.startswith("~"):
            if home is None:  # Jenkins runs containers as an arbitrary UID with no HOME
                continue
            dirs.append(os.path.join(home, entry[2:]))
        else:
            dirs.append(entry)
    return dirs


def _key_in_altool_dirs(env: Mapping[str, str], key_id: str | None, picker: _Picker) -> KeyLocation:
    searched = altool_directories(env)
    for directory in searched:
        if key_id is not None:
            path = os.path.join(directory, f"AuthKey_{normalize_key_id(key_id)}.p8")
            if os.path.isfile(path):
                picker.sources["key"] = directory
                return KeyLocation("file", "altool's key directories", path=path)
        elif _key_files(directory):
            picker.sources["key"] = directory
            return _key_in_directory(directory, None, "altool's key directories")
    file_name = f"AuthKey_{normalize_key_id(key_id)}.p8" if key_id is not None else "AuthKey_<KEYID>.p8"
    shown = ["$API_PRIVATE_KEYS_DIR (value not shown)" if looks_like_key_text(d) else
             d for d in searched]
    no_home = "" if env_value(env, "HOME") else " (HOME is not set, so no ~ directory)"
    raise KeyNotFoundError(
        f"no private key given; pass --key PATH (or '-' for stdin), set "
        f"{hint_variable('key', env, picker.sources)}, or put {file_name} in one of the directories "
        f"searched: {', '.join(shown)}{no_home}"
    )


def read_key_bytes(location: KeyLocation, env: Mapping[str, str], stdin: BinaryIO | None) -> bytes:
    """Read the key's bytes (capped) from wherever it was located."""
    if location.kind == "env":
        assert location.env_name is not None  # nosec B101
        return env[location.env_name].encode("utf-8", "surrogateescape")
    if location.kind == "stdin":
        if stdin is None:
            raise KeyLoadError("--key - reads the key from standard input, but none is available")
        return stdin.read(MAX_KEY_INPUT_BYTES + 1)
    assert location.path is not None  # nosec B101
    path = location.path
    try:
        data = _read_without_blocking(path)
    except FileNotFoundError:
        _refuse_key_text(path, location.origin)
        raise KeyNotFoundError(f"the key file {path} does not exist (from {location.origin}); "
                               "check the path or the key ID") from None
    except IsADirectoryError:
        raise KeyLoadError(f"{path} is a directory; pass the AuthKey_<KEYID>.p8 file inside it, "
                           "or use --key-dir") from None
    except PermissionError:
        raise KeyLoadError(f"cannot read the key file {path}: permission denied; "
                           "run as its owner or fix its permissions (chmod 600)") from None
    except OSError as error:
        _refuse_key_text(path, location.origin)
        raise KeyLoadError(f"cannot read the key file {path}: {error.strerror}") from None
    if data is None:
        raise KeyLoadError(f"the key file {path} is a named pipe that nothing writes to (from {location.origin}); "
                           "pass the .p8 file, or pipe the key to --key -")
    return data


def _read_without_blocking(path: str) -> bytes | None:
    """The file's first bytes (capped); None for a named pipe that no process writes to.

    A plain ``open()`` of a FIFO waits for a writer, forever if none comes, so the
    file is opened ``O_NONBLOCK`` and looked at first. A pipe that has a writer
    (``--key <(op read ...)``, ``--key /dev/stdin``) is read to its end as before.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | _NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):  # os.open opens a directory; open() would have refused it
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        first = b""
        if stat.S_ISFIFO(info.st_mode):
            try:
                first = os.read(fd, MAX_KEY_INPUT_BYTES + 1)
            except BlockingIOError:
                pass  # a writer is there and has written nothing yet: wait for it below
            else:
                if not first:
                    return None  # no writer at all
        if _NONBLOCK and not stat.S_ISREG(info.st_mode):  # a regular file reads the same either way
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
        return first + handle.read(MAX_KEY_INPUT_BYTES + 1 - len(first))


def _refuse_key_text(value: str, origin: str) -> None:
    # The test output paths pass too (xctoken.files.check_output_path). Here it is asked only
    # about paths that could not be opened, so a false alarm costs a less specific message.
    if looks_like_key_text(value):
        raise KeyLoadError(f"{origin} should name the key file, but its value (not shown) looks like the key "
                           "itself; put the key's content in ASC_PRIVATE_KEY, or pipe it to --key -")


def key_file_exposure(path: str | os.PathLike[str]) -> str | None:
    """A warning when a key file can be read by other users, else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if os.name == "posix" and mode & (stat.S_IRGRP | stat.S_IROTH):
        return (f"the key file {path} is readable by {'everyone' if mode & stat.S_IROTH else 'its group'} "
                f"(mode {stat.S_IMODE(mode):o}); run chmod 600 on it")
    return None


def families_used(sources: Mapping[str, str]) -> list[str]:
    """The credential families the picked settings came from (flags and files excluded).

    ``XCTOKEN_*`` is left out: it names only claims settings the other families have no
    name for, so it completes any of them rather than mixing with it.
    """
    family_of = {name: family for candidates in ENV_VARIABLES.values() for family, name in candidates}
    return sorted({family_of[source] for source in sources.values()
                   if source in family_of and family_of[source] != XCTOKEN})


def resolve_key(options: Options, env: Mapping[str, str], stdin: BinaryIO | None = None) -> LoadedKey:
    """Locate and load only the key (``decode`` needs no issuer or lifetime)."""
    location = locate_key(options, env, _Picker(env), options.key_id)
    return load_private_key(read_key_bytes(location, env, stdin))


def resolve(options: Options, env: Mapping[str, str], stdin: BinaryIO | None = None) -> Resolved:
    """Resolve flags and environment into a validated request and a loaded key."""
    picker = _Picker(env)
    try:
        return _resolve(options, env, stdin, picker)
    except XctokenError as error:
        if not picker.warnings:
            raise
        # A conflict between variable families is often why it failed (ASC_KEY_ID naming a
        # file in the gem's KEY_DIR): the warning would never be printed, so the error carries it.
        raise type(error)(f"{error} (note: {picker.warnings[0]})") from None


def _resolve(options: Options, env: Mapping[str, str], stdin: BinaryIO | None, picker: _Picker) -> Resolved:
    explicit_key_id = picker.pick("key_id", options.key_id, "--key-id")
    location = locate_key(options, env, picker, explicit_key_id)
    file_key_id = key_id_from_filename(location.path) if location.path else None
    if explicit_key_id and file_key_id and explicit_key_id.strip() != file_key_id:
        picker.warnings.append(f"the key ID from {picker.sources['key_id']} differs from the key file "
                               f"name {os.path.basename(location.path) if location.path else ''}; using "
                               f"{picker.sources['key_id']} (a 401 follows if they do not match)")
    if explicit_key_id is None and file_key_id is not None:
        picker.sources["key_id"] = "the key file's name"
    request = resolve_request(options, picker, explicit_key_id or file_key_id)
    key = load_private_key(read_key_bytes(location, env, stdin))
    return Resolved(request, key, location, picker.sources, picker.warnings)
