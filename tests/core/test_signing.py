"""Signed tokens, checked by three implementations that are not ours: PyJWT, jwcrypto, openssl."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto import jwk, jws
from jwcrypto import jwt as jwcrypto_jwt

from xctoken import KeyLoadError, Signer, TokenRequest, load_private_key, mint_token

from .helpers import b64url, b64url_decode, der_integer, raw_to_der_signature

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KID = "2X9R4HXF34"
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
LOADED = load_private_key(KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
REQUEST = TokenRequest(key_id=KID, issuer_id=ISSUER)


def public_pem(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)


def fresh_token() -> str:
    return mint_token(REQUEST, LOADED).value


def tamper_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["exp"] += 3600
    return ".".join([header, b64url(json.dumps(claims, separators=(",", ":")).encode()), signature])


def tamper_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[40] ^= 0x01
    return ".".join([header, payload, b64url(bytes(raw))])


# ---------------------------------------------------------------------------- verifiers


def verify_pyjwt(token: str, private_key: ec.EllipticCurvePrivateKey = KEY) -> dict[str, object]:
    return pyjwt.decode(token, private_key.public_key(), algorithms=["ES256"], audience="appstoreconnect-v1",
                        issuer=ISSUER, options={"require": ["iat", "exp", "aud", "iss"]})


def verify_jwcrypto(token: str, private_key: ec.EllipticCurvePrivateKey = KEY) -> dict[str, object]:
    key = jwk.JWK.from_pem(public_pem(private_key))
    checked = jwcrypto_jwt.JWT(jwt=token, key=key, algs=["ES256"],
                               check_claims={"aud": "appstoreconnect-v1", "iss": ISSUER, "exp": None})
    return json.loads(checked.claims)


def verify_openssl(token: str, workdir: Path, private_key: ec.EllipticCurvePrivateKey = KEY) -> bool:
    """openssl dgst on the signing input, with the raw R||S turned into DER by hand."""
    signing_input, _, signature = token.rpartition(".")
    (workdir / "pub.pem").write_bytes(public_pem(private_key))
    (workdir / "input").write_bytes(signing_input.encode("ascii"))
    (workdir / "sig.der").write_bytes(raw_to_der_signature(b64url_decode(signature)))
    result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(workdir / "pub.pem"),
                             "-signature", str(workdir / "sig.der"), str(workdir / "input")],
                            capture_output=True, text=True, timeout=30)
    assert ("Verified OK" in result.stdout) == (result.returncode == 0), result
    return result.returncode == 0


# ---------------------------------------------------------------------------- tests


def test_der_helper_matches_the_asn1_rules() -> None:
    # The hand-written encoder is the openssl check's foundation: pin its edge cases.
    assert der_integer(0) == b"\x02\x01\x00"
    assert der_integer(0x7F) == b"\x02\x01\x7f"
    assert der_integer(0x80) == b"\x02\x02\x00\x80"
    assert der_integer(0x0100) == b"\x02\x02\x01\x00"
    for r, s in ((1, 2), (2**255 + 1, 5), (0x7F << 248, 2**256 - 1), (12345, 2**200)):
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert raw_to_der_signature(raw) == encode_dss_signature(r, s)


def test_header_is_exactly_es256_kid_jwt() -> None:
    token = mint_token(REQUEST, LOADED)
    header_segment = token.value.split(".")[0]
    assert b64url_decode(header_segment) == b'{"alg":"ES256","kid":"2X9R4HXF34","typ":"JWT"}'
    assert token.header == {"alg": "ES256", "kid": KID, "typ": "JWT"}
    assert pyjwt.get_unverified_header(token.value) == {"alg": "ES256", "kid": KID, "typ": "JWT"}


def test_token_is_three_unpadded_base64url_segments() -> None:
    value = fresh_token()
    parts = value.split(".")
    assert len(parts) == 3
    assert all(part and "=" not in part and "+" not in part and "/" not in part for part in parts)


def test_signature_is_64_raw_bytes() -> None:
    for _ in range(20):  # R or S with leading zeros must still be 32 bytes each
        assert len(b64url_decode(fresh_token().split(".")[2])) == 64


def test_claims_in_token_are_the_token_objects_claims() -> None:
    token = mint_token(REQUEST, LOADED, now=1_700_000_000)
    assert json.loads(b64url_decode(token.value.split(".")[1])) == token.claims
    assert token.claims == {"iss": ISSUER, "iat": 1_699_999_940, "exp": 1_700_001_140,
                            "aud": "appstoreconnect-v1"}


def test_pyjwt_verifies() -> None:
    token = mint_token(REQUEST, LOADED)
    claims = verify_pyjwt(token.value)
    assert claims == token.claims
    assert claims["exp"] - claims["iat"] == 1200  # type: ignore[operator]


def test_jwcrypto_verifies() -> None:
    token = mint_token(REQUEST, LOADED)
    assert verify_jwcrypto(token.value) == token.claims
    # And at the JWS level, naming the algorithm it saw.
    parsed = jws.JWS()
    parsed.deserialize(token.value)
    parsed.verify(jwk.JWK.from_pem(public_pem(KEY)), alg="ES256")
    assert parsed.jose_header == {"alg": "ES256", "kid": KID, "typ": "JWT"}


def test_openssl_cli_verifies(tmp_path: Path) -> None:
    for _ in range(5):
        assert verify_openssl(fresh_token(), tmp_path)


def test_signer_reuse_signs_distinct_valid_tokens(tmp_path: Path) -> None:
    signer = Signer(REQUEST, KEY)  # a bare cryptography key works too
    first, second = signer.sign(), signer.sign(time.time() + 1)
    assert first.value != second.value
    for token in (first, second):
        verify_pyjwt(token.value)
        assert verify_openssl(token.value, tmp_path)


def test_individual_and_scoped_tokens_verify(tmp_path: Path) -> None:
    request = TokenRequest(key_id=KID, key_type="individual", lifetime="1h",  # type: ignore[arg-type]
                           scope=("GET /v1/ciProducts", "GET /v1/ciWorkflows/abc"))
    token = mint_token(request, LOADED)
    claims = pyjwt.decode(token.value, KEY.public_key(), algorithms=["ES256"], audience="appstoreconnect-v1")
    assert claims["sub"] == "user" and "iss" not in claims
    assert claims["scope"] == ["GET /v1/ciProducts", "GET /v1/ciWorkflows/abc"]
    assert verify_openssl(token.value, tmp_path)


@pytest.mark.parametrize("tamper", [tamper_payload, tamper_signature])
def test_tampered_token_fails_all_three(tamper: object, tmp_path: Path) -> None:
    bad = tamper(fresh_token())  # type: ignore[operator]
    with pytest.raises(pyjwt.InvalidSignatureError):
        verify_pyjwt(bad)
    with pytest.raises(jws.InvalidJWSSignature):
        verify_jwcrypto(bad)
    assert not verify_openssl(bad, tmp_path)


def test_wrong_key_fails_all_three(tmp_path: Path) -> None:
    token = fresh_token()
    with pytest.raises(pyjwt.InvalidSignatureError):
        verify_pyjwt(token, OTHER_KEY)
    with pytest.raises(jws.InvalidJWSSignature):
        verify_jwcrypto(token, OTHER_KEY)
    assert not verify_openssl(token, tmp_path, OTHER_KEY)


def test_repr_and_str_never_show_the_token() -> None:
    token = mint_token(REQUEST, LOADED)
    header, payload, signature = token.value.split(".")
    for text in (repr(token), str(token), f"{token}", repr([token]), repr(LOADED), str(LOADED)):
        assert token.value not in text
        assert payload not in text and signature not in text
    summary = json.dumps(token.summary())
    assert token.value not in summary and signature not in summary and payload not in summary
    assert token.summary()["kid"] == KID


@pytest.mark.parametrize("wrong", [
    ec.generate_private_key(ec.SECP384R1()),
    ec.generate_private_key(ec.SECP256K1()),
    rsa.generate_private_key(65537, 2048),
    "not a key",
])
def test_mint_token_refuses_anything_but_p256(wrong: object) -> None:
    with pytest.raises(KeyLoadError) as caught:
        mint_token(REQUEST, wrong)  # type: ignore[arg-type]
    assert "P-256" in str(caught.value)
    assert caught.value.exit_code == 4
