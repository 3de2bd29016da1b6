"""inspect_token: each of Apple's rules, broken one at a time by hand-made tokens."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from xctoken import TokenExpiredError, TokenInvalidError, TokenRequest, mint_token
from xctoken.inspection import MAX_TOKEN_LENGTH, inspect_token, strict_json

from .helpers import b64url, sign_compact

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KID = "2X9R4HXF34"
NOW = 1_700_000_000
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
GOOD_HEADER = {"alg": "ES256", "kid": KID, "typ": "JWT"}
GOOD_CLAIMS = {"iss": ISSUER, "iat": NOW - 60, "exp": NOW + 1140, "aud": "appstoreconnect-v1"}


def token_with(header: dict[str, object] | None = None, drop_header: str | None = None,
               drop_claim: str | None = None, der: bool = False, **claims: object) -> str:
    h = {**GOOD_HEADER, **(header or {})}
    c = {**GOOD_CLAIMS, **claims}
    h.pop(drop_header or "", None)
    c.pop(drop_claim or "", None)
    return sign_compact(h, c, KEY, der=der)


def failed_rules(token: str, public_key: ec.EllipticCurvePublicKey | None = None) -> set[str]:
    return {check.rule for check in inspect_token(token, NOW, public_key).failures}


def test_good_token_is_valid() -> None:
    report = inspect_token(token_with(), NOW, KEY.public_key())
    assert report.valid and not report.failures and not report.expired
    assert report.seconds_left == 1140 and report.signature_length == 64
    assert "signature verifies with the given key" in {c.rule for c in report.checks}


def test_token_minted_by_xctoken_is_valid() -> None:
    token = mint_token(TokenRequest(key_id=KID, issuer_id=ISSUER), KEY, now=NOW)
    assert inspect_token(token.value, NOW, KEY.public_key()).valid
    individual = mint_token(TokenRequest(key_id=KID, key_type="individual"), KEY, now=NOW)  # type: ignore[arg-type]
    assert inspect_token(individual.value, NOW, KEY.public_key()).valid


def test_scoped_long_lived_token_is_valid() -> None:
    token = token_with(exp=NOW + 86400, scope=["GET /v1/ciProducts"])
    assert failed_rules(token) == set()


@pytest.mark.parametrize(("token", "rule"), [
    (token_with({"alg": "HS256"}), "alg is ES256"),
    (token_with({"alg": "ES384"}), "alg is ES256"),
    (token_with(drop_header="kid"), "kid is a 10-character key ID"),
    (token_with({"kid": "2x9r4hxf34"}), "kid is a 10-character key ID"),
    (token_with(drop_header="typ"), "typ is JWT"),
    (token_with({"typ": "jwt+at"}), "typ is JWT"),
    (token_with(iat=NOW - 60.5), "iat and exp are integer seconds"),
    (token_with(exp=str(NOW + 1140)), "iat and exp are integer seconds"),
    (token_with(drop_claim="exp"), "iat and exp are integer seconds"),
    (token_with(exp=NOW + 1200), "exp - iat is at most 1200 s"),  # fastlane: iat - 60, exp = now + 1200: 1260
    (token_with(exp=NOW + 86400, scope=["GET /v1/apps"]), "exp - iat is at most 1200 s"),
    (token_with(exp=NOW + 86400, scope=["POST /v1/ciBuildRuns"]), "exp - iat is at most 1200 s"),
    (token_with(exp=NOW + 86400, scope=["GET /v1/ciProducts"], aud="apple-developer-enterprise-v1"),
     "exp - iat is at most 1200 s"),
    (token_with(exp=NOW + 200 * 86400, scope=["GET /v1/ciProducts"]), "exp - iat is at most 15552000 s"),
    (token_with(iat=NOW + 100, exp=NOW + 1300), "iat is not in the future"),
    (token_with(iat=NOW - 1300, exp=NOW - 100), "not expired"),
    (token_with(iat=NOW - 1200, exp=NOW), "not expired"),  # exp == now is already expired
    (token_with(drop_claim="iss"), "team key: iss is an issuer ID"),
    (token_with(iss="team-123"), "team key: iss is an issuer ID"),
    (token_with(sub="user"), "individual key: sub is 'user' and no iss"),
    (token_with(sub="someone"), "team key: no sub claim"),
    (token_with(aud="appstoreconnect-v2"), "aud is an App Store Connect audience"),
    (token_with(drop_claim="aud"), "aud is an App Store Connect audience"),
    (token_with(scope="GET /v1/apps"), "scope is a list of 'METHOD /path' strings"),
    (token_with(scope=[]), "scope is a list of 'METHOD /path' strings"),
    (token_with(scope=["GET https://api.appstoreconnect.apple.com/v1/apps"]),
     "scope is a list of 'METHOD /path' strings"),
    (token_with(der=True), "signature is raw R||S (64 bytes)"),
])
def test_each_broken_rule_is_the_only_failure(token: str, rule: str) -> None:
    assert failed_rules(token) == {rule}


def test_fastlane_1260_lifetime_detail() -> None:
    report = inspect_token(token_with(exp=NOW + 1200), NOW)
    (failure,) = report.failures
    assert "1260 s" in failure.detail


def test_der_signature_is_named() -> None:
    report = inspect_token(token_with(der=True), NOW, KEY.public_key())
    assert 68 <= report.signature_length <= 72
    details = {c.rule: c.detail for c in report.failures}
    assert "DER" in details["signature is raw R||S (64 bytes)"]
    # A DER signature cannot be checked as ES256: verification fails too.
    assert "signature verifies with the given key" in details


def test_expired_report_flags() -> None:
    report = inspect_token(token_with(iat=NOW - 1300, exp=NOW - 100), NOW)
    assert report.expired and report.seconds_left == -100 and not report.valid


def test_bearer_prefix_and_whitespace_are_tolerated() -> None:
    assert inspect_token("Bearer " + token_with() + "\n", NOW, KEY.public_key()).valid


def test_signature_verification_with_right_and_wrong_key() -> None:
    token = token_with()
    assert failed_rules(token, KEY.public_key()) == set()
    assert failed_rules(token, OTHER_KEY.public_key()) == {"signature verifies with the given key"}


def test_altered_claims_fail_verification() -> None:
    header, _, signature = token_with().split(".")
    forged = ".".join([header, b64url(b'{"iss":"' + ISSUER.encode() + b'","iat":1,"exp":2}'), signature])
    assert "signature verifies with the given key" in failed_rules(forged, KEY.public_key())


@pytest.mark.parametrize("garbage", [
    "", "   ", "Bearer ", "hello", "a.b", "a.b.c.d", ".payload.sig", "header..sig",
    b64url(b"not json") + "." + b64url(b"{}") + ".sig",
    b64url(b"[1, 2]") + "." + b64url(b"{}") + ".sig",
    b64url(b"{}") + "." + b64url(b"\xff\xfe") + ".sig",
    b64url(b"{}") + "." + b64url(b"{}") + ".a",
    "x" * (MAX_TOKEN_LENGTH + 1),
    "\u00e9t\u00e9.\u00e9t\u00e9.\u00e9t\u00e9",
])
def test_garbage_raises_token_invalid(garbage: str) -> None:
    with pytest.raises(TokenInvalidError) as caught:
        inspect_token(garbage, NOW)
    assert not isinstance(caught.value, TokenExpiredError)
    assert caught.value.exit_code == 5
    message = str(caught.value)
    assert message and "\n" not in message
    if len(garbage) > 20:
        assert garbage not in message


def _standard_base64(token: str) -> str:
    # The same token re-encoded the way a careless signer does: '+', '/' and '=' padding.
    import base64

    def reencode(part: str) -> str:
        return base64.b64encode(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))).decode()

    return ".".join(reencode(part) for part in token.split("."))


def test_standard_base64_or_padding_is_its_own_failure() -> None:
    # Python's decoder reads it happily; a strict server (RFC 7515: base64url, no '=') does not.
    padded = _standard_base64(token_with(scope=["GET /v1/apps?filter[platform]=IOS&x=~~~~>>>"]))
    assert "=" in padded
    assert failed_rules(padded) == {"parts are base64url without padding"}


@pytest.mark.parametrize("entry", ["get /v1/apps", "FOO /v1/apps", "GET  /v1/apps", " GET /v1/apps"])
def test_scope_entries_follow_the_rule_generate_applies(entry: str) -> None:
    assert failed_rules(token_with(scope=[entry])) == {"scope is a list of 'METHOD /path' strings"}


DEEP_NEST = b'{"a":' + b"[" * 20000 + b"]" * 20000 + b"}"  # RecursionError in json.loads


@pytest.mark.parametrize("payload", [b'{"exp": NaN}', b'{"iat": Infinity}', DEEP_NEST])
def test_payloads_python_reads_but_json_does_not_are_not_json(payload: bytes) -> None:
    token = b64url(b'{"alg":"ES256"}') + "." + b64url(payload) + "." + b64url(b"x" * 64)
    with pytest.raises(TokenInvalidError, match="payload is not JSON"):
        inspect_token(token, NOW)


def test_a_claim_named_twice_is_refused() -> None:
    # Parsers disagree on which of two equal names wins, so the token means two things.
    payload = b'{"iss":"57246542-96fe-1a63-e053-0824d011072a","iat":1,"exp":2,"exp":99999999999,' \
              b'"aud":"appstoreconnect-v1"}'
    token = b64url(b'{"alg":"ES256","kid":"2X9R4HXF34","typ":"JWT"}') + "." + b64url(payload) + "." + \
        b64url(b"x" * 64)
    with pytest.raises(TokenInvalidError, match='payload names "exp" twice'):
        inspect_token(token, NOW)


def test_details_quote_token_values_as_ascii_json() -> None:
    # repr() keeps "printable" characters such as U+FE0F raw, and the runner's search for "##["
    # skips them: every value a detail quotes is JSON with all non-ASCII escaped.
    report = inspect_token(token_with({"alg": "#\ufe0f#[stop-commands]x", "typ": "J\u200bWT"},
                                      aud="#\u00ad#vso[task.complete]\u202e"), NOW)
    details = {c.rule: c.detail for c in report.failures}
    assert details["alg is ES256"] == 'alg is "#\\ufe0f#[stop-commands]x"'
    assert details["typ is JWT"] == 'typ is "J\\u200bWT"'
    assert details["aud is an App Store Connect audience"] == \
        'aud is "#\\u00ad#vso[task.complete]\\u202e", expected "appstoreconnect-v1"'
    assert all(c.detail.isascii() for c in report.checks)


def test_a_name_twice_is_quoted_as_ascii_json() -> None:
    payload = '{"iss":"x","#\ufe0f#[x]":1,"#\ufe0f#[x]":2}'.encode()
    token = b64url(b'{"alg":"ES256"}') + "." + b64url(payload) + "." + b64url(b"x" * 64)
    with pytest.raises(TokenInvalidError) as raised:
        inspect_token(token, NOW)
    assert str(raised.value) == "the token's payload names \"#\\ufe0f#[x]\" twice"


def test_strict_json_turns_non_finite_numbers_into_strings() -> None:
    payload = b'{"iss":"57246542-96fe-1a63-e053-0824d011072a","iat":1,"exp":1e400,"nbf":-1e400,' \
              b'"aud":"appstoreconnect-v1","x":[{"y":1e999}]}'
    token = b64url(b'{"alg":"ES256","kid":"2X9R4HXF34","typ":"JWT"}') + "." + b64url(payload) + "." + \
        b64url(b"x" * 64)
    report = inspect_token(token, NOW)
    assert report.claims["exp"] == float("inf")  # the checks see the number: not integer seconds
    assert "iat and exp are integer seconds" in {c.rule for c in report.failures}
    strict = strict_json(report.claims)
    assert isinstance(strict, dict)
    assert (strict["exp"], strict["nbf"], strict["x"]) == ("Infinity", "-Infinity", [{"y": "Infinity"}])
    json.dumps(strict, allow_nan=False)  # raises on any non-finite float left
