"""Sign a :class:`TokenRequest` (or a :class:`~xctoken.services.ServiceRequest`) into a compact ES256 JWS.

ES256 straight on cryptography: an ECDSA P-256/SHA-256 signature, converted
from the DER OpenSSL returns to the raw 32-byte ``R || S`` JWS (and Apple)
require. Not through PyJWT: importing ``jwt`` costs the CLI a third of its start
time (it pulls in urllib, ssl, http.client and x509), and its per-call ECDSA and
hex conversions cost about a third of the signing rate (bench/bench.py measures
both). The compact serialization is assembled here so the constant header
segment is encoded once per request rather than once per token.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from .claims import APP_STORE_CONNECT, TokenRequest, build_claims, build_header
from .errors import KeyLoadError
from .keys import LoadedKey

if TYPE_CHECKING:
    from datetime import datetime  # imported where a date is made: a token needs none

    from .services import ServiceRequest


# Both are immutable and safe to share; building them per token showed in the bench.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))
_P256_COORDINATE_BYTES = 32


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _json_segment(obj: object) -> bytes:
    return _b64url(_COMPACT_JSON.encode(obj).encode("utf-8"))


def _es256_signature(signing_input: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    r, s = decode_dss_signature(private_key.sign(signing_input, _ECDSA_SHA256))
    return r.to_bytes(_P256_COORDINATE_BYTES, "big") + s.to_bytes(_P256_COORDINATE_BYTES, "big")


@dataclass(frozen=True)
class Token:
    """A signed token.

    ``repr()`` and ``str()`` (and so f-strings and ``%s``) never show the token itself, so a
    token that reaches a log line or a traceback stays secret. That also means
    ``f"Bearer {token}"`` gives ``"Bearer Token(header=...)"``, which Apple refuses: use
    ``token.value`` for the compact JWT, or ``token.authorization`` for the whole header::

        headers = {"Authorization": token.authorization}   # "Bearer eyJ..."
    """

    value: str = field(repr=False)
    header: dict[str, str]
    claims: dict[str, object] = field(repr=False)
    service: str = APP_STORE_CONNECT
    # For tokens without an exp claim (APNs, DeviceCheck): when Apple stops accepting them.
    valid_until: int | None = None

    @property
    def issued_at(self) -> datetime:
        from datetime import datetime, timezone

        return datetime.fromtimestamp(int(self.claims["iat"]), tz=timezone.utc)  # type: ignore[call-overload]

    @property
    def expires(self) -> int:
        """Unix time the token stops being accepted: ``exp``, or ``valid_until`` without one."""
        exp = self.claims.get("exp", self.valid_until)
        return int(exp)  # type: ignore[call-overload,no-any-return]

    @property
    def expires_at(self) -> datetime:
        from datetime import datetime, timezone

        return datetime.fromtimestamp(self.expires, tz=timezone.utc)

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value: ``"Bearer <token>"`` (secret, like ``value``).

        App Attest's receipt endpoint is the exception: it takes the bare ``value``.
        """
        return f"Bearer {self.value}"

    @property
    def key_type(self) -> str:
        return "individual" if self.claims.get("sub") == "user" else "team"

    @property
    def scope(self) -> list[str]:
        scope = self.claims.get("scope", [])
        return [str(entry) for entry in scope] if isinstance(scope, list) else []

    def __str__(self) -> str:
        return repr(self)

    def summary(self) -> dict[str, object]:
        """The token's non-secret facts, for logs, job summaries and ``--format json``."""
        if self.service != APP_STORE_CONNECT:
            # The service's identifiers (team, client, bundle, Services ID) are not secret.
            shown = {k: v for k, v in self.claims.items() if k not in ("iat", "exp", "jti")}
            return {"service": self.service, "kid": self.header["kid"], "issued_at": iso8601(self.issued_at),
                    "expires_at": iso8601(self.expires_at), "claims": shown}
        return {
            "kid": self.header["kid"],
            "key_type": self.key_type,
            "audience": self.claims["aud"],
            "issued_at": iso8601(self.issued_at),
            "expires_at": iso8601(self.expires_at),
            "scope": self.scope,
        }


def iso8601(moment: datetime) -> str:
    from datetime import timezone

    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


AnyRequest = Union[TokenRequest, "ServiceRequest"]


class Signer:
    """Mints tokens for one request and key; reuse it to sign many tokens cheaply."""

    def __init__(self, request: AnyRequest, key: LoadedKey | ec.EllipticCurvePrivateKey) -> None:
        self.request = request
        private_key = key.private_key if isinstance(key, LoadedKey) else key
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise KeyLoadError("ES256 needs an EC P-256 private key; load it with load_private_key()")
        self._private_key = private_key
        self._header = build_header(request) if isinstance(request, TokenRequest) else request.header()
        self._header_segment = _json_segment(self._header)
        self.service = APP_STORE_CONNECT if isinstance(request, TokenRequest) else request.service
        # The claim names every token of this request carries (a cached token must match them).
        self.claims_template = frozenset(build_claims(request, 0) if isinstance(request, TokenRequest)
                                         else request.claims(0))

    @property
    def header(self) -> dict[str, str]:
        return dict(self._header)

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._private_key.public_key()

    def sign(self, now: float | None = None) -> Token:
        moment = int(time.time() if now is None else now)
        request = self.request
        claims = build_claims(request, moment) if isinstance(request, TokenRequest) else request.claims(moment)
        signing_input = self._header_segment + b"." + _json_segment(claims)
        signature = _es256_signature(signing_input, self._private_key)
        value = (signing_input + b"." + _b64url(signature)).decode("ascii")
        valid_until = None
        if "exp" not in claims:  # APNs-style: Apple counts the lifetime from iat
            valid_until = int(claims["iat"]) + int(request.lifetime or 0)  # type: ignore[call-overload]
        return Token(value, dict(self._header), claims, self.service, valid_until)


def mint_token(
    request: AnyRequest,
    key: LoadedKey | ec.EllipticCurvePrivateKey,
    now: float | None = None,
) -> Token:
    """Sign one App Store Connect API token.

    ``now`` is the Unix time to sign at (default: the current time); ``iat`` is
    ``now - request.clock_skew`` and ``exp`` is ``iat + request.lifetime``.
    """
    return Signer(request, key).sign(now)
