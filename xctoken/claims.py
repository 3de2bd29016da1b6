"""Apple's rules for App Store Connect API tokens, as pure functions.

Source: Apple's "Generating Tokens for API Requests"
(https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests).
A :class:`TokenRequest` that constructs without
error describes a token Apple will accept; the header and claims built from it
follow the rules by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .services import ServiceRequest

# The service these rules are for, by its CLI name (xctoken.services lists the others).
APP_STORE_CONNECT = "app-store-connect"
AUDIENCE_APP_STORE_CONNECT = "appstoreconnect-v1"
AUDIENCE_ENTERPRISE = "apple-developer-enterprise-v1"
KNOWN_AUDIENCES = (AUDIENCE_APP_STORE_CONNECT, AUDIENCE_ENTERPRISE)

MAX_LIFETIME = 20 * 60
# Apple says "up to six months" for long-lived tokens without giving seconds;
# 180 days is at or under every reading of that.
MAX_LONG_LIVED_LIFETIME = 180 * 24 * 3600
DEFAULT_LIFETIME = MAX_LIFETIME
# Back-date iat so a runner whose clock is fast is not refused for a token
# "issued in the future" (macOS runners have been seen ~200 s off).
DEFAULT_CLOCK_SKEW = 60
MAX_CLOCK_SKEW = 600

# Resources whose GET requests may use a token living longer than 20 minutes
# (App Store Connect API 1.5). Collection names, plus the relationship names
# under which the same resources appear in paths.
LONG_LIVED_RESOURCES = frozenset({
    "ciBuildActions", "ciBuildRuns", "scmGitReferences", "ciIssues", "ciMacOsVersions",
    "ciProducts", "scmProviders", "perfPowerMetrics", "diagnosticSignatures",
    "diagnosticLogs", "scmPullRequests", "scmRepositories", "ciTestResults",
    "ciWorkflows", "ciXcodeVersions",
})
LONG_LIVED_RELATIONSHIPS = frozenset({
    "actions", "buildRuns", "gitReferences", "issues", "macOsVersions", "products",
    "ciProduct", "product", "pullRequests", "repositories", "primaryRepositories",
    "additionalRepositories", "repository", "testResults", "workflows", "workflow",
    "xcodeVersions", "xcodeVersion", "macOsVersion", "logs", "sourceBranchOrTag",
    "destinationBranch", "pullRequest", "buildRun", "buildAction",
})

KEY_ID_PATTERN = re.compile(r"[A-Z0-9]{10}")
UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
ISSUER_ID_PATTERN = UUID_PATTERN  # an issuer ID is a UUID
# ASCII digits only: Python's \d and int() also take Arabic-Indic (U+0661...) or fullwidth
# (U+FF11...) digits, which no other tool reading the same setting would.
_DURATION = re.compile(r"([0-9]{1,12})[ \t]*([smhd]?)", re.ASCII)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SCOPE_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
SCOPE_ENTRY_PATTERN = re.compile(r"([A-Za-z]+) (/v[0-9]+/[A-Za-z0-9._~%/{}-]*)(\?[\x21-\x7e]*)?")


class KeyType(str, Enum):
    """Team keys carry the issuer ID; individual (user) keys carry ``sub: "user"``."""

    TEAM = "team"
    INDIVIDUAL = "individual"


def _describe_bad_value(value: str) -> str:
    """Say what is off about a rejected value without echoing it.

    A value in the wrong place may be a secret (a key pasted into KEY_ID), so
    errors describe its shape instead of quoting it.
    """
    traits = [f"{len(value)} characters"]
    if any(c.islower() for c in value):
        traits.append("lower-case letters")
    if any(c.isspace() for c in value):
        traits.append("spaces or line breaks")
    if any(not c.isascii() for c in value):
        traits.append("non-ASCII characters")
    elif any(not c.isalnum() and c != "-" for c in value):
        traits.append("punctuation")
    return "got " + ", ".join(traits)


def normalize_key_id(value: str) -> str:
    """Validate a key ID (10 upper-case letters and digits), trimming whitespace.

    The key ID also names the key file (``AuthKey_<KEYID>.p8``): this check is
    what keeps ``../`` and friends out of file paths.
    """
    key_id = value.strip()
    if not key_id:
        raise ConfigError("the key ID is empty; set --key-id (or ASC_KEY_ID) to the 10-character "
                          "Key ID shown in App Store Connect > Users and Access > Integrations")
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise ConfigError("the key ID must be exactly 10 upper-case letters or digits, like 2X9R4HXF34 "
                          f"({_describe_bad_value(key_id)}); copy it from App Store Connect > Integrations")
    return key_id


def normalize_issuer_id(value: str) -> str:
    """Validate an issuer ID's shape (8-4-4-4-12 hex digits), trimming whitespace."""
    issuer_id = value.strip()
    if not ISSUER_ID_PATTERN.fullmatch(issuer_id):
        raise ConfigError(
            "the issuer ID must look like 57246542-96fe-1a63-e053-0824d011072a (8-4-4-4-12 hex digits; "
            f"{_describe_bad_value(issuer_id)}); copy it from App Store Connect > Integrations"
        )
    return issuer_id


def parse_duration(value: str | int, what: str = "lifetime") -> int:
    """Read seconds from ``1200``, ``1200s``, ``20m``, ``1h`` or ``180d``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    match = _DURATION.fullmatch(text)
    if not match:
        raise ConfigError(f"the {what} must be a whole number of seconds or a number followed by "
                          f"m, h or d (like 1200, 20m, 1h, 180d); {_describe_bad_value(text)}")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_key_type(value: str | KeyType) -> KeyType:
    try:
        return KeyType(str(value.value if isinstance(value, KeyType) else value).strip().lower())
    except ValueError:
        raise ConfigError("the key type must be 'team' or 'individual'") from None


def normalize_scope_entry(value: str) -> str:
    """Validate one scope entry: ``METHOD /path[?query]``, one request per entry."""
    entry = value.strip()
    if "://" in entry:
        raise ConfigError("a scope entry must not include the host: write 'GET /v1/apps', "
                          "not 'GET https://api.appstoreconnect.apple.com/v1/apps'")
    match = SCOPE_ENTRY_PATTERN.fullmatch(entry)
    if not match:
        raise ConfigError("each scope entry must be 'METHOD /vN/path[?query]', like "
                          f"'GET /v1/apps?filter[platform]=IOS' ({_describe_bad_value(entry)})")
    if match.group(1) not in _SCOPE_METHODS:
        raise ConfigError(f"a scope entry's method must be one of {', '.join(_SCOPE_METHODS)} "
                          "in upper case")
    return entry


def scope_resource(entry: str) -> str:
    """The resource a scope entry's request returns, read from its path.

    Paths go ``/v1/{type}``, ``/v1/{type}/{id}``, ``/v1/{type}/{id}/{related}`` or
    ``/v1/{type}/{id}/relationships/{related}``; anything deeper is unknown ("").
    """
    path = entry.split(" ", 1)[1].split("?", 1)[0]
    segments = [s for s in path.split("/") if s][1:]  # drop the version
    if len(segments) in (1, 2):
        return segments[0]
    if len(segments) == 3:
        return segments[2]
    if len(segments) == 4 and segments[2] == "relationships":
        return segments[3]
    return ""


def is_long_lived_eligible(entry: str) -> bool:
    """True when Apple lets this scope entry use a token living beyond 20 minutes."""
    if not entry.startswith("GET "):
        return False
    resource = scope_resource(entry)
    return resource in LONG_LIVED_RESOURCES or resource in LONG_LIVED_RELATIONSHIPS


@dataclass(frozen=True)
class TokenRequest:
    """Everything that decides a token's header and claims, validated on construction.

    ``lifetime`` is ``exp - iat`` in seconds; ``clock_skew`` back-dates ``iat``
    and (unlike fastlane) is taken out of the lifetime, never added to it.
    """

    key_id: str
    issuer_id: str | None = None
    key_type: KeyType = KeyType.TEAM
    audience: str = AUDIENCE_APP_STORE_CONNECT
    lifetime: int = DEFAULT_LIFETIME
    scope: tuple[str, ...] = ()
    clock_skew: int = DEFAULT_CLOCK_SKEW

    def __post_init__(self) -> None:
        # Normalize in place: the dataclass is frozen so it can be shared freely.
        set_ = object.__setattr__
        set_(self, "key_id", normalize_key_id(self.key_id))
        set_(self, "key_type", parse_key_type(self.key_type))
        set_(self, "scope", tuple(normalize_scope_entry(e) for e in self.scope))
        set_(self, "lifetime", parse_duration(self.lifetime))
        set_(self, "clock_skew", parse_duration(self.clock_skew, "clock skew"))
        self._check_identity()
        self._check_audience()
        self._check_times()

    def _check_identity(self) -> None:
        issuer = (self.issuer_id or "").strip()
        if self.key_type is KeyType.TEAM:
            if not issuer:
                raise ConfigError(
                    "the issuer ID is missing; set --issuer-id (or ASC_ISSUER_ID) for a team key, "
                    "or pass --key-type individual if this is an individual key"
                )
            object.__setattr__(self, "issuer_id", normalize_issuer_id(issuer))
        elif issuer:
            raise ConfigError("an individual key's token carries no issuer ID; drop the issuer ID "
                              "or make it a team key (--key-type team)")
        else:
            object.__setattr__(self, "issuer_id", None)

    def _check_audience(self) -> None:
        audience = self.audience.strip()
        if not audience or any(c.isspace() or not c.isprintable() for c in audience):
            raise ConfigError("the audience must be a non-empty word such as appstoreconnect-v1 "
                              "(or apple-developer-enterprise-v1 with --enterprise)")
        object.__setattr__(self, "audience", audience)

    def _check_times(self) -> None:
        if self.lifetime <= 0:
            raise ConfigError("the lifetime must be at least 1 second (default 1200 = 20 minutes)")
        if not 0 <= self.clock_skew <= MAX_CLOCK_SKEW:
            raise ConfigError(f"the clock skew must be between 0 and {MAX_CLOCK_SKEW} seconds "
                              f"(default {DEFAULT_CLOCK_SKEW})")
        if self.clock_skew >= self.lifetime:
            raise ConfigError("the clock skew must be smaller than the lifetime, or the token "
                              "would be expired as soon as it is made")
        if self.lifetime <= MAX_LIFETIME:
            return
        if self.lifetime > MAX_LONG_LIVED_LIFETIME:
            raise ConfigError(f"the lifetime {self.lifetime} s is over Apple's longest, 180 days "
                              f"({MAX_LONG_LIVED_LIFETIME} s), even for a scoped long-lived token")
        why = ("App Store Connect refuses tokens living more than 20 minutes (1200 s) unless "
               "every scope entry is a GET on a resource that allows long-lived tokens "
               "(ciProducts, ciWorkflows, ciBuildRuns, scmRepositories, perfPowerMetrics, ...)")
        if self.audience != AUDIENCE_APP_STORE_CONNECT:
            raise ConfigError(f"the lifetime {self.lifetime} s is over 1200 s, and long-lived tokens "
                              f"exist only for the {AUDIENCE_APP_STORE_CONNECT} audience")
        if not self.scope:
            raise ConfigError(f"the lifetime {self.lifetime} s is over 1200 s without a scope: {why}; "
                              "add a scope entry such as 'GET /v1/ciProducts' or use at most 20m")
        refused = [e.split("?", 1)[0] for e in self.scope if not is_long_lived_eligible(e)]
        if refused:
            raise ConfigError(f"the lifetime {self.lifetime} s is over 1200 s but scope entry "
                              f"'{refused[0]}' does not allow it: {why}")


def build_header(request: TokenRequest) -> dict[str, str]:
    return {"alg": "ES256", "kid": request.key_id, "typ": "JWT"}


def build_claims(request: TokenRequest, now: int) -> dict[str, object]:
    """The JWT payload for a request at Unix time ``now`` (integer seconds)."""
    issued_at = int(now) - request.clock_skew
    claims: dict[str, object] = {}
    if request.key_type is KeyType.TEAM:
        claims["iss"] = request.issuer_id
    else:
        claims["sub"] = "user"
    claims["iat"] = issued_at
    claims["exp"] = issued_at + request.lifetime
    claims["aud"] = request.audience
    if request.scope:
        claims["scope"] = list(request.scope)
    return claims


def fixed_claims(request: TokenRequest | ServiceRequest) -> dict[str, object]:
    """The claims every token of ``request`` carries, whenever it is signed (all but iat, exp and jti)."""
    if not isinstance(request, TokenRequest):
        return request.fixed_claims()
    claims = build_claims(request, 0)
    del claims["iat"], claims["exp"]
    return claims
