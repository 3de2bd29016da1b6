"""Helpers shared by the core tests: leak checks, hand-made JWS and DER signatures.

The DER and JWS code here is written independently of xctoken (and of PyJWT) on
purpose: a test that verified our tokens with our own code could not fail.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

RUN = 16  # a leaked run of this many characters of a secret counts as a leak


def key_renderings(private_key: object) -> list[str]:
    """Every text form of a private key a careless message could quote."""
    found: list[str] = []
    formats = [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
    for fmt in formats:
        try:
            pem = private_key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.PEM, fmt, serialization.NoEncryption()
            )
            der = private_key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.DER, fmt, serialization.NoEncryption()
            )
        except ValueError:  # e.g. Ed25519 has no traditional format
            continue
        found += material_renderings(pem) + material_renderings(der)
    return found


def material_renderings(data: bytes | str) -> list[str]:
    """The renderings of some key material: PEM body, base64, hex of the DER."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    found = [base64.b64encode(raw).decode(), raw.hex(), raw.hex().upper()]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return found
    body = "".join(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("-----", "Proc-", "DEK-"))
    )
    found.append(body)
    try:
        der = base64.b64decode(body + "=" * (-len(body) % 4))
        found += [der.hex(), der.hex().upper()]
    except ValueError:
        pass
    return [s for s in found if len(s) >= RUN]


def _runs(text: str) -> set[str]:
    return {text[i:i + RUN] for i in range(len(text) - RUN + 1)}


def leaked_run(output: str, secrets: Iterable[str]) -> str | None:
    """The first 16-character run of any secret that appears in ``output``, else None."""
    windows = _runs(output)
    for secret in secrets:
        hit = windows & _runs(secret)
        if hit:
            return sorted(hit)[0]
    return None


def assert_no_leak(output: str | bytes, secrets: Iterable[str]) -> None:
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
    run = leaked_run(text, secrets)
    assert run is None, f"secret material leaked: {run!r}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def der_integer(value: int) -> bytes:
    """ASN.1 DER INTEGER for a non-negative value (X.690 8.3), by hand."""
    body = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    if body[0] & 0x80:
        body = b"\x00" + body  # keep it positive
    return b"\x02" + bytes([len(body)]) + body


def raw_to_der_signature(raw: bytes) -> bytes:
    """JWS ES256 raw R||S (RFC 7518 3.4) -> ECDSA-Sig-Value DER SEQUENCE, by hand."""
    assert len(raw) == 64
    content = der_integer(int.from_bytes(raw[:32], "big")) + der_integer(int.from_bytes(raw[32:], "big"))
    assert len(content) < 128  # two 33-byte integers at most: short-form length
    return b"\x30" + bytes([len(content)]) + content


def sign_compact(header: dict[str, object], claims: dict[str, object], private_key: ec.EllipticCurvePrivateKey,
                 der: bool = False) -> str:
    """A compact JWS of arbitrary header and claims, signed with ECDSA P-256/SHA-256.

    ``der=True`` puts the DER signature in the token, as careless signers do.
    """
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    der_sig = private_key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    if der:
        signature = der_sig
    else:
        r, s = decode_dss_signature(der_sig)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input + "." + b64url(signature)
