"""Every Apple service that takes a developer-signed ES256 JWT: one declarative profile each.

A profile (:class:`Profile`, one small module per service in this package)
says what Apple's documentation says about that service's token: the header
fields, the claims (as templates over the request's inputs), which inputs are
required and which may be given, the identifier shapes, the lifetime rule and
its default, how a token may be reused, where the API lives and how the token
is sent. :class:`ServiceRequest` validates a request against its profile on
construction, so a request that exists describes a token Apple accepts, and
builds the header and claims from the templates. Adding a service is adding a
module and its name to :data:`SERVICE_MODULES`.

App Store Connect is the ``app-store-connect`` profile; its requests are the
long-standing :class:`xctoken.claims.TokenRequest`, whose rules (team and
individual keys, the enterprise audience, scope, long-lived tokens) are richer
than a template can say.

The facts come from Apple's documentation, cited in each profile's
``sources``. Where it is silent, the module takes the safe side and says so
(marked unverified).
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

from ..claims import (
    APP_STORE_CONNECT,
    DEFAULT_CLOCK_SKEW,
    ISSUER_ID_PATTERN,
    MAX_CLOCK_SKEW,
    UUID_PATTERN,
    parse_duration,
)
from ..errors import ConfigError

DEFAULT_SERVICE = APP_STORE_CONNECT
# In the order `xctoken services` lists them.
SERVICE_MODULES = ("app_store_connect", "app_store_server", "apns", "device_check", "sign_in_with_apple",
                   "musickit", "weatherkit", "maps", "classkit", "business_manager", "school_manager",
                   "apple_ads")

# The inputs a profile's templates can use (each has a CLI flag and an environment variable).
INPUTS = ("team_id", "issuer_id", "client_id", "bundle_id", "services_id", "origin", "scope")
FLAGS = {name: "--" + name.replace("_", "-") for name in INPUTS}

_UUID = UUID_PATTERN.pattern
# Identifier shapes, each with an example for the error message.
SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "ten": (re.compile(r"[A-Z0-9]{10}", re.ASCII), "10 upper-case letters or digits, like 2X9R4HXF34"),
    "uuid": (UUID_PATTERN, "a UUID, like d136aa66-0c3b-4bd4-9892-c20e8db024ab"),
    "issuer": (ISSUER_ID_PATTERN, "a UUID, like 57246542-96fe-1a63-e053-0824d011072a"),
    "reverse_dns": (re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", re.ASCII),
                    "a reverse-DNS identifier, like com.example.app"),
    "businessapi": (re.compile(r"BUSINESSAPI\." + _UUID, re.ASCII), "BUSINESSAPI.<uuid>"),
    "schoolapi": (re.compile(r"SCHOOLAPI\." + _UUID, re.ASCII), "SCHOOLAPI.<uuid>"),
    "searchads": (re.compile(r"SEARCHADS\." + _UUID, re.ASCII), "SEARCHADS.<uuid>"),
}


@dataclass(frozen=True)
class Lifetime:
    """How long a token may live, as Apple counts it.

    ``counted_from``: "iat" (``exp - iat``), "now" (``exp`` minus the time of
    signing, as Apple's server clock measures it), or "none" (the token carries
    no ``exp``; Apple accepts it for ``maximum`` seconds after ``iat``).
    """

    counted_from: str
    default: int
    maximum: int | None  # None: Apple documents no maximum
    source: str  # what the error message cites
    strictly_less: bool = False  # "less than 180 days"
    verified: bool = True


@dataclass(frozen=True)
class Reuse:
    """How a token may be reused; ``--cache`` keeps to ``min_age``/``max_age`` where they are set."""

    text: str
    min_age: int = 0  # never mint a new one while the cached one is younger (APNs: 20 min)
    max_age: int | None = None  # never hand out a cached one older than this (APNs: 50 min)


@dataclass(frozen=True)
class Probe:
    """The one harmless request ``xctoken doctor`` makes to prove the credentials.

    ``url`` is on Apple's host (``--api-base`` replaces scheme and host); the
    token goes in the Authorization header (``Profile.authorization``) or, with
    ``form_field``, in that form field of a POST. ``accepted`` are the statuses
    that show Apple accepted the token (some probes are answered 400 once the
    caller is authenticated: the request itself is deliberately empty).
    """

    method: str
    url: str
    why: str  # why this request: what it costs and what its answer proves
    form: Mapping[str, str] = field(default_factory=dict)  # values are templates over the inputs
    form_field: str = ""
    accepted: tuple[int, ...] = (200,)
    accepted_errors: tuple[str, ...] = ()  # OAuth "error" values that mean the client itself was accepted


@dataclass(frozen=True)
class Profile:
    name: str  # the CLI name
    title: str
    purpose: str  # one line: what the token is for
    key: str  # which key signs it, and where it is made
    key_id: str  # a SHAPES name
    header: Mapping[str, str]  # after alg and kid; values are templates
    claims: Mapping[str, str]  # in order; values are templates (see _fill)
    required: tuple[str, ...]
    lifetime: Lifetime
    reuse: Reuse
    api_base: str
    sources: tuple[str, ...]
    optional: tuple[str, ...] = ()
    shapes: Mapping[str, str] = field(default_factory=dict)  # input -> SHAPES name
    authorization: str = "Bearer"  # the Authorization scheme; "" sends the bare JWT
    check: Callable[[ServiceRequest], None] | None = None  # rules a template cannot say
    probe: Probe | None = None  # None: doctor cannot ask this service (probe_missing says why)
    probe_missing: str = ""

    def summary_line(self) -> str:
        limit = _describe_limit(self.lifetime)
        return f"{self.name:<20} {self.purpose}; {limit}"


def _describe_limit(lifetime: Lifetime) -> str:
    if lifetime.counted_from == "none":
        return f"no exp claim, valid {lifetime.maximum // 60} min after iat" if lifetime.maximum else "no exp claim"
    if lifetime.maximum is None:
        return f"default {_human(lifetime.default)}, no documented maximum"
    relation = "<" if lifetime.strictly_less else "<="
    counted = "exp - iat" if lifetime.counted_from == "iat" else "exp - now"
    return f"{counted} {relation} {lifetime.maximum} s, default {_human(lifetime.default)}"


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@cache
def _load(module: str) -> Profile:
    return importlib.import_module(f".{module}", __name__).PROFILE  # type: ignore[no-any-return]


def profiles() -> list[Profile]:
    return [_load(module) for module in SERVICE_MODULES]


def get(name: str) -> Profile:
    key = name.strip().lower()
    for module in SERVICE_MODULES:
        if module.replace("_", "-") == key:
            return _load(module)
    shown = key if re.fullmatch(r"[a-z0-9-]{1,30}", key) else "(not shown)"
    raise ConfigError(f"unknown service {shown}; use one of: {', '.join(p.name for p in profiles())} "
                      "(xctoken services lists them)")


def _check_shape(value: str, shape: str, what: str) -> str:
    pattern, example = SHAPES[shape]
    text = value.strip()
    if not pattern.fullmatch(text):
        from ..claims import _describe_bad_value

        raise ConfigError(f"the {what} must be {example} ({_describe_bad_value(text)})")
    return text


@dataclass(frozen=True)
class ServiceRequest:
    """A token request for one service, validated against its profile on construction.

    ``lifetime`` (``None``: the profile's default) and ``clock_skew`` work as
    for App Store Connect: ``iat`` is back-dated by the skew, and the skew is
    taken out of the lifetime, never added to it.
    """

    service: str
    key_id: str
    team_id: str | None = None
    issuer_id: str | None = None
    client_id: str | None = None
    bundle_id: str | None = None
    services_id: str | None = None
    origin: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    lifetime: int | str | None = None
    clock_skew: int | str = DEFAULT_CLOCK_SKEW

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        profile = get(self.service)
        set_(self, "service", profile.name)
        if profile.name == DEFAULT_SERVICE:
            raise ConfigError("App Store Connect tokens are TokenRequests (xctoken.TokenRequest); "
                              "ServiceRequest is for the other services")
        set_(self, "key_id", _check_shape(self.key_id or "", profile.key_id, f"{profile.title} key ID"))
        allowed = set(profile.required) | set(profile.optional)
        for name in INPUTS:
            value = getattr(self, name)
            if name in ("origin", "scope"):
                value = tuple(v.strip() for v in value if v.strip())
                set_(self, name, value)
            elif value is not None:
                value = value.strip() or None
                set_(self, name, value)
            if value and name not in allowed:
                raise ConfigError(f"{FLAGS[name]} does not apply to {profile.title} tokens; drop it "
                                  f"({profile.name} takes {_list_flags(profile)})")
            if not value and name in profile.required:
                raise ConfigError(f"{profile.title} tokens need {FLAGS[name]} ({_INPUT_HINTS[name]})")
            if value and name in _SCALAR_SHAPES:
                shape = profile.shapes.get(name, _SCALAR_SHAPES[name])
                set_(self, name, _check_shape(value, shape, _INPUT_NAMES[name]))
        self._check_times(profile)
        if profile.check is not None:
            profile.check(self)

    @property
    def profile(self) -> Profile:
        return get(self.service)

    def _check_times(self, profile: Profile) -> None:
        rule = profile.lifetime
        skew = parse_duration(self.clock_skew, "clock skew")
        object.__setattr__(self, "clock_skew", skew)
        if not 0 <= skew <= MAX_CLOCK_SKEW:
            raise ConfigError(f"the clock skew must be between 0 and {MAX_CLOCK_SKEW} seconds "
                              f"(default {DEFAULT_CLOCK_SKEW})")
        if rule.counted_from == "none":
            if self.lifetime not in (None, ""):
                raise ConfigError(f"{profile.title} tokens carry no exp claim (Apple accepts them for "
                                  f"{(rule.maximum or 0) // 60} minutes after iat); drop --lifetime")
            object.__setattr__(self, "lifetime", rule.maximum or rule.default)
            return
        lifetime = rule.default if self.lifetime is None or self.lifetime == "" else parse_duration(self.lifetime)
        object.__setattr__(self, "lifetime", lifetime)
        if lifetime <= 0:
            raise ConfigError("the lifetime must be at least 1 second")
        if skew >= lifetime:
            raise ConfigError("the clock skew must be smaller than the lifetime, or the token would be "
                              "expired as soon as it is made")
        if rule.maximum is None:
            return
        # "now"-counted limits are measured at signing: exp - now = lifetime - skew.
        measured = lifetime if rule.counted_from == "iat" else lifetime - skew
        over = measured >= rule.maximum if rule.strictly_less else measured > rule.maximum
        if over:
            counted = "exp - iat" if rule.counted_from == "iat" else "exp - now"
            relation = "less than" if rule.strictly_less else "at most"
            raise ConfigError(f"{profile.title} tokens must have {counted} {relation} {rule.maximum} s "
                              f"({rule.source}); this one would have {measured} s: lower --lifetime")

    def values(self, now: int) -> dict[str, object]:
        """What the templates are filled from, at Unix time ``now``."""
        issued_at = int(now) - int(self.clock_skew)
        return {"key_id": self.key_id, "team_id": self.team_id, "issuer_id": self.issuer_id,
                "client_id": self.client_id, "bundle_id": self.bundle_id, "services_id": self.services_id,
                "origin": list(self.origin), "scope": list(self.scope), "iat": issued_at,
                "exp": issued_at + int(self.lifetime or 0)}

    def header(self) -> dict[str, str]:
        values = self.values(0)
        header = {"alg": "ES256", "kid": self.key_id}
        for name, template in self.profile.header.items():
            filled = _fill(template, values)
            if filled is not None:
                header[name] = str(filled)
        return header

    def claims(self, now: int) -> dict[str, object]:
        values = self.values(now)
        claims: dict[str, object] = {}
        for name, template in self.profile.claims.items():
            filled = _fill(template, values)
            if filled is not None:
                claims[name] = filled
        return claims

    def fixed_claims(self) -> dict[str, object]:
        """The claims every token of this request carries (all but the times and jti)."""
        return {k: v for k, v in self.claims(0).items() if k not in ("iat", "exp", "jti")}


_SCALAR_SHAPES = {"team_id": "ten", "issuer_id": "issuer", "client_id": "reverse_dns", "bundle_id": "reverse_dns",
                  "services_id": "reverse_dns"}
_INPUT_NAMES = {"team_id": "team ID", "issuer_id": "issuer ID", "client_id": "client ID",
                "bundle_id": "bundle ID", "services_id": "Services ID", "origin": "origin", "scope": "scope"}
_INPUT_HINTS = {
    "team_id": "the 10-character Team ID: Apple Developer > Membership details",
    "issuer_id": "the Issuer ID: App Store Connect > Users and Access > Integrations",
    "client_id": "the client ID the token is for",
    "bundle_id": "the app's bundle ID, the bid claim",
    "services_id": "the Services ID registered for this service",
    "origin": "the web origins the token may be used from",
    "scope": "what the token may be used for",
}


def _list_flags(profile: Profile) -> str:
    names = [FLAGS[n] for n in profile.required] + [f"{FLAGS[n]} (optional)" for n in profile.optional]
    return ", ".join(names) if names else "no service inputs"


_TEMPLATE = re.compile(r"\{([a-z_]+)(?::([a-z]+))?\}")


def _fill(template: str, values: Mapping[str, object]) -> object | None:
    """A claim or header value from its template; None when an input it names is absent.

    ``{name}`` is the input (an int for iat/exp), ``{origin:list}`` the origins
    as a JSON array, ``{origin:comma}`` / ``{scope:space}`` joined, ``{jti:uuid}``
    a fresh UUID. Any other text is literal, with ``{...}`` parts substituted.
    """
    if template == "{jti:uuid}":
        return str(uuid.uuid4())
    whole = _TEMPLATE.fullmatch(template)
    if whole:
        value = values.get(whole.group(1))
        if value in (None, "", []):
            return None
        form = whole.group(2)
        if form in ("list", "comma", "space"):
            items = [str(item) for item in value]  # type: ignore[attr-defined]
            return items if form == "list" else ("," if form == "comma" else " ").join(items)
        return value
    missing = [m.group(1) for m in _TEMPLATE.finditer(template) if values.get(m.group(1)) in (None, "")]
    if missing:
        return None
    return _TEMPLATE.sub(lambda m: str(values[m.group(1)]), template)


def claim_names(profile: Profile) -> set[str]:
    return set(profile.claims)


# -- reading a token back (decode, check) ---------------------------------------

_ASC_AUDIENCES = ("appstoreconnect-v1", "apple-developer-enterprise-v1")
_TIMES = ("iat", "exp")


def _literal(template: str) -> bool:
    return _TEMPLATE.search(template) is None


def _input_of(template: str) -> str | None:
    whole = _TEMPLATE.fullmatch(template)
    return whole.group(1) if whole and whole.group(1) in INPUTS else None


def _claim_required(profile: Profile, template: str) -> bool:
    name = _input_of(template)
    return _literal(template) or name is None or name in profile.required


def _fits(profile: Profile, header: Mapping[str, object], claims: Mapping[str, object]) -> bool:
    """Could this token have been made for ``profile``? (Its shape: names and literal values.)"""
    if profile.name == DEFAULT_SERVICE:
        # Its audience, or its issuer (an issuer ID, or an individual key's sub "user"): a broken
        # App Store Connect token is still checked as one.
        iss = claims.get("iss")
        asc_issuer = claims.get("sub") == "user" or (isinstance(iss, str) and bool(ISSUER_ID_PATTERN.fullmatch(iss)))
        return "bid" not in claims and (claims.get("aud") in _ASC_AUDIENCES or asc_issuer)
    extra_header = set(header) - {"alg", "kid", "typ"} - set(profile.header)
    if extra_header or any(name not in header for name in profile.header if name != "typ"):
        return False
    if not set(claims) <= set(profile.claims):
        return False
    kid_pattern = SHAPES[profile.key_id][0]
    if not (isinstance(header.get("kid"), str) and kid_pattern.fullmatch(str(header["kid"]))):
        return False
    for name, template in profile.claims.items():
        if name not in claims:
            if _claim_required(profile, template):
                return False
        elif _literal(template) and claims[name] != template:
            return False
        elif not _shape_fits(profile, template, claims[name]):
            return False
    return True


def _shape_fits(profile: Profile, template: str, value: object) -> bool:
    """An identifier claim has its input's shape (Apple Ads' SEARCHADS. team against a 10-character one)."""
    field_name = _input_of(template)
    shape = profile.shapes.get(field_name or "", _SCALAR_SHAPES.get(field_name or ""))
    if not shape or template != "{" + str(field_name) + "}":
        return True
    return isinstance(value, str) and SHAPES[shape][0].fullmatch(value) is not None


def _specificity(profile: Profile, header: Mapping[str, object]) -> int:
    """How much of the token a profile declares: its header fields present (a typ that ClassKit and
    Maps ask for and MusicKit does not), then its literal claims."""
    return sum(1 for name in profile.header if name in header) + sum(1 for t in profile.claims.values() if _literal(t))


def recognize(header: Mapping[str, object], claims: Mapping[str, object]) -> list[Profile]:
    """The services whose tokens look like this one, best first (App Store Connect when none fits).

    Some services share a token shape (APNs and DeviceCheck; ClassKit and a Maps
    token without scope or origin): all of them are returned, and ``--service``
    picks one.
    """
    found = [p for p in profiles() if _fits(p, header, claims)]
    found.sort(key=lambda p: -_specificity(p, header))  # stable: ties keep the listing order
    return found or [get(DEFAULT_SERVICE)]


def check_token(profile: Profile, header: Mapping[str, object], claims: Mapping[str, object], now: int,
                report: object) -> None:
    """Add to ``report`` (an inspection.TokenReport) a check per rule of ``profile``."""
    from ..inspection import Check, shown

    add = report.checks.append  # type: ignore[attr-defined]
    kid = header.get("kid")
    pattern, example = SHAPES[profile.key_id]
    add(Check(f"kid is {example.split(',')[0]}", isinstance(kid, str) and pattern.fullmatch(kid) is not None,
              "kid is missing or malformed"))
    allowed_header = {"alg", "kid", "typ", *profile.header}
    extra = sorted(set(header) - allowed_header)
    add(Check(f"header has only {', '.join(sorted(allowed_header))}", not extra,
              f"the header also has {', '.join(shown(n) for n in extra)}"))
    for name, template in profile.header.items():
        if _literal(template):
            add(Check(f"{name} is {template}", header.get(name) == template, f"{name} is {shown(header.get(name))}"))
    if "id" in profile.header:  # WeatherKit: id = <iss>.<sub>
        expected = f"{claims.get('iss')}.{claims.get('sub')}"
        add(Check("header id is '<team ID>.<Services ID>' (iss.sub)", header.get("id") == expected,
                  f"id is {shown(header.get('id'))}, expected {shown(expected)}"))
    extra_claims = sorted(set(claims) - set(profile.claims))
    add(Check(f"claims are only {', '.join(profile.claims)}", not extra_claims,
              f"{profile.title} refuses other claims; this token also has "
              f"{', '.join(shown(n) for n in extra_claims)}"))
    for name, template in profile.claims.items():
        value = claims.get(name)
        if value is None:
            if _claim_required(profile, template):
                add(Check(f"{name} is present", False, f"{profile.title} tokens need {name}"))
            continue
        if _literal(template):
            add(Check(f"{name} is {template}", value == template, f"{name} is {shown(value)}"))
            continue
        field_name = _input_of(template)
        shape = profile.shapes.get(field_name or "", _SCALAR_SHAPES.get(field_name or ""))
        if shape and template == "{" + str(field_name) + "}":
            pattern, example = SHAPES[shape]
            add(Check(f"{name} is {example.split(',')[0]}", isinstance(value, str) and bool(pattern.fullmatch(value)),
                      f"{name} is {shown(value)}"))
    _check_times(profile, claims, now, report)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_times(profile: Profile, claims: Mapping[str, object], now: int, report: object) -> None:
    from ..inspection import Check

    add = report.checks.append  # type: ignore[attr-defined]
    rule = profile.lifetime
    iat, exp = claims.get("iat"), claims.get("exp")
    if rule.counted_from == "none":
        add(Check("iat is integer seconds and there is no exp", _is_int(iat) and exp is None,
                  f"{profile.title} tokens carry iat (integer seconds) and no exp"))
        if _is_int(iat):
            assert isinstance(iat, int)  # nosec B101
            report.valid_until = iat + (rule.maximum or 0)  # type: ignore[attr-defined]
            add(Check("iat is not in the future", iat <= now, f"iat is {iat - now} s ahead of this machine's clock"))
            add(Check("not expired", now < iat + (rule.maximum or 0),
                      f"{rule.source}; this one is {now - iat} s old"))
        return
    add(Check("iat and exp are integer seconds", _is_int(iat) and _is_int(exp),
              "iat/exp missing or not integers (Apple refuses fractional or string times)"))
    if not (_is_int(iat) and _is_int(exp)):
        return
    assert isinstance(iat, int) and isinstance(exp, int)  # nosec B101
    if rule.maximum is not None:
        measured = exp - iat if rule.counted_from == "iat" else exp - now
        counted = "exp - iat" if rule.counted_from == "iat" else "exp - now"
        ok = measured < rule.maximum if rule.strictly_less else measured <= rule.maximum
        relation = "less than" if rule.strictly_less else "at most"
        add(Check(f"{counted} is {relation} {rule.maximum} s", ok and exp > iat,
                  f"{counted} is {measured} s ({rule.source})"))
    add(Check("iat is not in the future", iat <= now, f"iat is {iat - now} s ahead of this machine's clock"))
    add(Check("not expired", exp > now, f"expired {now - exp} s ago"))
