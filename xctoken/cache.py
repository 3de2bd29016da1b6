"""Reuse a token while it stays valid long enough: ``xctoken generate --cache``.

A job that polls Apple every few seconds (build processing, notarization, an
Xcode Cloud run) would otherwise sign and print a new token on every call. The
cache keeps the last token in a file of its own (mode 0600, in a 0700
directory) and hands it out again while it has at least ``min_valid`` seconds
left; after that the next call mints and replaces it.

The file is named after a hash of everything that decides the token (header,
claims settings and the key's PUBLIC half): two configurations never share a
file, and neither the name nor the content holds key material. The content is
the token alone; it is only reused after its signature verifies with the key in
hand and its claims match the request, so a stale, foreign or damaged file is
never handed out, only replaced. Writers replace the file atomically
(:func:`xctoken.files.write_secret_file`), so concurrent callers read a whole
token or none and never see a torn file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .claims import fixed_claims, parse_duration
from .errors import ConfigError, OutputError, TokenInvalidError
from .files import check_output_path, write_secret_file
from .inspection import split_token
from .signing import Signer, Token

if TYPE_CHECKING:
    from .services import Reuse

DEFAULT_MIN_VALID = 5 * 60
# A cached token is a few hundred bytes; anything much larger is not ours.
_MAX_CACHE_BYTES = 16 * 1024
_CLAIMS_SET_AT_SIGNING = ("iat", "exp", "jti")


def cache_directory(env: Mapping[str, str]) -> Path:
    """Where cached tokens live: ``XCTOKEN_CACHE_DIR``, RUNNER_TEMP on a runner, else the user's cache.

    RUNNER_TEMP is private to the job and emptied by the runner at its start and
    end, so on GitHub a cached token never outlives the job.
    """
    explicit = env.get("XCTOKEN_CACHE_DIR", "").strip()
    if explicit:
        # Key text there would be quoted in the "not caching" warning and become directory names.
        return Path(check_output_path(explicit, "XCTOKEN_CACHE_DIR")).expanduser()
    runner_temp = env.get("RUNNER_TEMP", "").strip()
    if runner_temp and env.get("GITHUB_ACTIONS") == "true":
        return Path(runner_temp) / "xctoken" / "cache"
    home = env.get("HOME", "").strip()
    if os.name == "nt" and env.get("LOCALAPPDATA", "").strip():
        return Path(env["LOCALAPPDATA"]) / "xctoken" / "Cache"
    if sys.platform == "darwin" and home:
        return Path(home) / "Library" / "Caches" / "xctoken"
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    if xdg:
        return Path(xdg) / "xctoken"
    if home:
        return Path(home) / ".cache" / "xctoken"
    raise OutputError("--cache needs a directory: set XCTOKEN_CACHE_DIR (HOME is not set either)")


def parse_min_valid(value: str | int | None, signer: Signer) -> int:
    """Validate ``--min-valid`` against what a fresh token lives (lifetime minus clock skew)."""
    fresh = int(signer.request.lifetime or 0) - int(signer.request.clock_skew)
    # The default asks for 5 minutes, or half of what a fresh token lives when that is less (App
    # Store Server tokens live 5 minutes).
    seconds = min(DEFAULT_MIN_VALID, fresh // 2) if value is None else parse_duration(value, "--min-valid")
    if seconds >= fresh:
        raise ConfigError(f"--min-valid {seconds} s is not shorter than a fresh token lives ({fresh} s: the "
                          "lifetime minus the clock skew), so no token could ever be reused; lower --min-valid")
    return seconds


def cache_file_name(signer: Signer) -> str:
    """A name from the header, the claims settings and the public key: no secret, no collision."""
    request = signer.request
    public = signer.public_key.public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    identity = json.dumps({
        "header": signer.header, "claims": fixed_claims(request),
        "lifetime": request.lifetime, "clock_skew": request.clock_skew,
        "public_key": hashlib.sha256(public).hexdigest(),
    }, sort_keys=True)
    return f"token-{hashlib.sha256(identity.encode()).hexdigest()[:32]}.jwt"


def _private_directory(directory: Path) -> bool:
    """Create the cache directory (0700) and say whether it is ours alone to trust."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    if os.name == "posix":
        # Someone else's directory, or one others may write into, could hand us their token file.
        if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def _read_private_file(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if os.name == "posix" and (info.st_uid != os.geteuid() or info.st_mode & 0o077):
            return None
        data = os.read(fd, _MAX_CACHE_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > _MAX_CACHE_BYTES:
        return None
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError:
        return None


def reusable(value: str, signer: Signer, now: int, min_valid: int) -> Token | None:
    """The cached token, if it verifies, matches the request and has ``min_valid`` seconds left."""
    try:
        header, claims, value, signature = split_token(value)
    except TokenInvalidError:
        return None
    if len(signature) != 64:
        return None
    if header != signer.header:
        return None
    settled = {k: v for k, v in claims.items() if k not in _CLAIMS_SET_AT_SIGNING}
    if settled != fixed_claims(signer.request):
        return None
    lifetime = int(signer.request.lifetime or 0)
    iat = claims.get("iat")
    exp = claims.get("exp", iat + lifetime if type(iat) is int and "exp" not in signer.claims_template else None)
    if not (type(iat) is int and type(exp) is int and exp - iat == lifetime):
        return None
    if iat > now or exp <= now:
        return None
    reuse = _reuse_rule(signer)
    age = now - iat - int(signer.request.clock_skew)  # since it was minted (iat is back-dated)
    if reuse is not None and reuse.max_age is not None and age > reuse.max_age:
        return None  # APNs: one token for up to 50 minutes, then a new one
    young = reuse is not None and age < reuse.min_age  # APNs: never a new token within 20 minutes
    if exp - now < min_valid and not young:
        return None
    # Verified with cryptography, not inspection.verify_signature: PyJWT's import would cost
    # every cached call more than the verification itself.
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        signer.public_key.verify(der, value.rsplit(".", 1)[0].encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return None
    # The header was checked equal to the signer's.
    return Token(value, signer.header, claims, signer.service, None if "exp" in claims else exp)


def _reuse_rule(signer: Signer) -> Reuse | None:
    from .claims import TokenRequest

    return None if isinstance(signer.request, TokenRequest) else signer.request.profile.reuse


def refuse_single_use(signer: Signer) -> None:
    """A token carrying a fresh jti per request (Business/School Manager assertions) is never reused."""
    if "jti" in signer.claims_template:
        raise ConfigError(f"--cache: {signer.service} assertions are single-use (a fresh jti each): mint one per "
                          "token request; drop --cache")


def cached_or_new(signer: Signer, env: Mapping[str, str], min_valid: int,
                  now: int) -> tuple[Token, list[str]]:
    """The cached token if it can be reused, else a new one (then cached); plus warnings.

    The cache is an optimisation: when its directory is not usable (not ours,
    writable by others, read-only) the token is minted anyway and the warning
    says why nothing was cached.
    """
    directory = cache_directory(env)
    if not _private_directory(directory):
        return signer.sign(now), [f"not caching: {directory} is not a private directory of this user "
                                  "(owned by another user, writable by others, or cannot be created)"]
    path = directory / cache_file_name(signer)
    value = _read_private_file(path)
    if value:
        token = reusable(value, signer, now, min_valid)
        if token is not None:
            return token, []
    token = signer.sign(now)
    try:
        write_secret_file(path, token.value)
    except OutputError as error:
        return token, [f"the token was not cached: {error}"]
    return token, []
