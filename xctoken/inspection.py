"""Take a token apart and check it against every rule Apple applies.

This is what a user runs when Apple answers 401: it says which rule a token
breaks, without needing the key (and verifies the signature when given one).
Pure: a token string, a time and optionally a public key in; a report out.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from . import claims as rules
from .errors import ConfigError, TokenInvalidError

MAX_TOKEN_LENGTH = 64 * 1024


@dataclass(frozen=True)
class Check:
    rule: str
    passed: bool
    detail: str = ""


@dataclass
class TokenReport:
    header: dict[str, object]
    claims: dict[str, object]
    signature_length: int
    now: int
    checks: list[Check] = field(default_factory=list)
    service: str = rules.APP_STORE_CONNECT
    also: tuple[str, ...] = ()  # other services whose tokens look the same (apns / device-check)
    valid_until: int | None = None  # without an exp claim: when Apple stops accepting it
    # Services the token also looks like, and the rules of theirs it breaks.
    look_alike_failures: dict[str, list[str]] = field(default_factory=dict)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def _end(self) -> int | None:
        exp = self.claims.get("exp", self.valid_until)
        return exp if isinstance(exp, int) and not isinstance(exp, bool) else None

    @property
    def expired(self) -> bool:
        end = self._end
        return end is not None and end <= self.now

    @property
    def seconds_left(self) -> int | None:
        end = self._end
        return None if end is None else end - self.now

    @property
    def valid(self) -> bool:
        return not self.failures


def _b64url_decode(segment: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalidError(f"the token's {what} is not valid base64url") from None


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def shown(value: object) -> str:
    """A value taken from a token, as a report quotes it: JSON with every non-ASCII character
    escaped (``\\ufe0f``), so no character a log reader skips or a terminal acts on goes out
    raw; ``repr`` keeps the "printable" ones (variation selectors, zero-width joiners) as is."""
    return json.dumps(value, ensure_ascii=True)


def strict_json(value: object) -> object:
    """``value`` with each number JSON cannot write (a claim such as ``1e400`` reads as an
    infinite float) turned into the string ``"Infinity"`` or ``"-Infinity"`` (``"NaN"``),
    so ``json.dumps(..., allow_nan=False)`` prints strict JSON. A round trip through the C
    encoder and decoder: as deep a value as the token's own parse took, no Python recursion."""
    return json.loads(json.dumps(value), parse_constant=str)


class _DuplicateName(Exception):
    pass


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    names = [name for name, _ in pairs]
    for name in names:
        if names.count(name) > 1:
            raise _DuplicateName(shown(name[:40]))
    return dict(pairs)


def _json_object(segment: str, what: str) -> dict[str, object]:
    try:
        # NaN and Infinity are Python's extensions, not JSON; a deep nest is not a JWT either.
        value = json.loads(_b64url_decode(segment, what), parse_constant=_refuse_constant,
                           object_pairs_hook=_refuse_duplicates)
    except _DuplicateName as duplicate:
        # Parsers disagree on which of two equal names wins: Apple may read the other one.
        raise TokenInvalidError(f"the token's {what} names {duplicate} twice") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise TokenInvalidError(f"the token's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise TokenInvalidError(f"the token's {what} is not a JSON object")
    return value


def split_token(token: str) -> tuple[dict[str, object], dict[str, object], str, bytes]:
    """Parse a compact JWS into header, claims, the bare token text and the raw signature.

    Accepts the token as pasted from an Authorization header ("Bearer ...").
    """
    text = token.strip()
    if text.lower().startswith("bearer "):
        text = text[7:].strip()
    if not text:
        raise TokenInvalidError("no token given; pass it as an argument or '-' to read it from stdin")
    if len(text) > MAX_TOKEN_LENGTH:
        raise TokenInvalidError(f"the token is {len(text)} characters long, far more than a JWT; "
                                "check that the right value was passed")
    parts = text.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise TokenInvalidError("this is not a JWT: a token is three base64url parts joined by dots")
    header = _json_object(parts[0], "header")
    payload = _json_object(parts[1], "payload")
    signature = _b64url_decode(parts[2], "signature")
    return header, payload, text, signature


# JWS compact serialization: base64url, no padding (RFC 7515 section 2). Python's decoder
# also takes '+', '/' and '=', which a strict server refuses.
_BASE64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def _is_scope_entry(entry: object) -> bool:
    if not isinstance(entry, str):
        return False
    try:
        return rules.normalize_scope_entry(entry) == entry
    except ConfigError:
        return False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def inspect_token(token: str, now: int, public_key: ec.EllipticCurvePublicKey | None = None,
                  service: str | None = None) -> TokenReport:
    """Check a token against Apple's rules for its service; raises only if it is not a JWT at all.

    The service is ``service`` when given, else recognized from the token's
    header and claims (:func:`xctoken.services.recognize`).
    """
    from . import services

    header, payload, compact, signature = split_token(token)
    report = TokenReport(header, payload, len(signature), int(now))
    add = report.checks.append

    add(Check("parts are base64url without padding",
              all(_BASE64URL_SEGMENT.fullmatch(part) for part in compact.split(".")),
              "a part holds '+', '/', '=' or other characters outside base64url (standard base64 or "
              "padding: encode with base64url and strip the '=')"))

    add(Check("alg is ES256", header.get("alg") == "ES256", f"alg is {shown(header.get('alg'))}"))
    also: tuple[str, ...] = ()
    if service is not None:
        profile = services.get(service)
    else:
        found = services.recognize(header, payload)
        profile, also = found[0], tuple(p.name for p in found[1:])
    report.service, report.also = profile.name, also
    if profile.name != services.DEFAULT_SERVICE:
        services.check_token(profile, header, payload, int(now), report)
        _check_signature(report, compact, signature, public_key)
        # A look-alike whose rules this token breaks (a ClassKit token too long for ClassKit reads as
        # a valid Maps one): say so, so that --service can settle it.
        for name in also:
            if name == services.DEFAULT_SERVICE:
                continue
            other = TokenReport(header, payload, len(signature), int(now))
            services.check_token(services.get(name), header, payload, int(now), other)
            if other.failures:
                report.look_alike_failures[name] = [c.rule for c in other.failures]
        return report
    kid = header.get("kid")
    kid_ok = isinstance(kid, str) and rules.KEY_ID_PATTERN.fullmatch(kid) is not None
    add(Check("kid is a 10-character key ID", kid_ok, "kid is missing or malformed"))
    add(Check("typ is JWT", header.get("typ") == "JWT", f"typ is {shown(header.get('typ'))}"))

    iat, exp = payload.get("iat"), payload.get("exp")
    times_ok = _is_int(iat) and _is_int(exp)
    add(Check("iat and exp are integer seconds", times_ok,
              "iat/exp missing or not integers (Apple refuses fractional or string times)"))
    scope = payload.get("scope")
    # The same rule generate applies: an upper-case method xctoken knows, one request per entry.
    scope_ok = scope is None or (isinstance(scope, list) and bool(scope) and all(_is_scope_entry(e) for e in scope))
    add(Check("scope is a list of 'METHOD /path' strings", scope_ok, "scope is malformed"))
    audience = payload.get("aud")
    add(Check("aud is an App Store Connect audience", audience in rules.KNOWN_AUDIENCES,
              f"aud is {shown(audience)}, expected {shown(rules.AUDIENCE_APP_STORE_CONNECT)}"))

    if times_ok:
        assert isinstance(iat, int) and isinstance(exp, int)  # nosec B101
        lifetime = exp - iat
        long_lived_ok = (
            scope_ok and isinstance(scope, list)
            and audience == rules.AUDIENCE_APP_STORE_CONNECT
            and all(rules.is_long_lived_eligible(e) for e in scope)
        )
        limit = rules.MAX_LONG_LIVED_LIFETIME if long_lived_ok else rules.MAX_LIFETIME
        add(Check(f"exp - iat is at most {limit} s", 0 < lifetime <= limit,
                  f"exp - iat is {lifetime} s" + ("" if long_lived_ok else
                  " (over 1200 s needs a scope of GET requests on long-lived resources)")))
        add(Check("iat is not in the future", iat <= now,
                  f"iat is {iat - now} s ahead of this machine's clock"))
        add(Check("not expired", exp > now, f"expired {now - exp} s ago"))

    iss, sub = payload.get("iss"), payload.get("sub")
    if sub == "user":
        add(Check("individual key: sub is 'user' and no iss", iss is None,
                  "an individual key's token must not carry iss"))
    else:
        iss_ok = isinstance(iss, str) and rules.ISSUER_ID_PATTERN.fullmatch(iss) is not None
        add(Check("team key: iss is an issuer ID", iss_ok,
                  "iss is missing or not 8-4-4-4-12 hex (use sub: 'user' for individual keys)"))
        if sub is not None:
            add(Check("team key: no sub claim", False, "sub is set but is not 'user'"))

    _check_signature(report, compact, signature, public_key)
    return report


def _check_signature(report: TokenReport, compact: str, signature: bytes,
                     public_key: ec.EllipticCurvePublicKey | None) -> None:
    add = report.checks.append
    add(Check("signature is raw R||S (64 bytes)", len(signature) == 64,
              f"signature is {len(signature)} bytes" + (" (DER? Apple needs raw R||S)"
                                                       if len(signature) > 64 else "")))
    if public_key is not None:
        add(Check("signature verifies with the given key",
                  len(signature) == 64 and verify_signature(compact, public_key),
                  "the signature does not match this key (wrong key, or the token was altered)"))


def verify_signature(token: str, public_key: ec.EllipticCurvePublicKey) -> bool:
    """Verify an ES256 signature with PyJWT: a second implementation, not the one that signed.

    xctoken signs with cryptography directly (see signing.py), so a token that
    passes here has been checked by code that shares none of the signing path's
    encoding. PyJWT is imported only when a key is given.
    """
    from jwt import PyJWS
    from jwt.exceptions import InvalidTokenError

    try:
        PyJWS().decode_complete(token, key=public_key, algorithms=["ES256"])
    except InvalidTokenError:
        return False
    return True
