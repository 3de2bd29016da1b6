"""Every service profile: what its tokens hold, field by field, and every limit refused one second past it.

The expected headers and claims are written out here from shared/apple-services.md
(not read from the profiles), and every token is verified by PyJWT and by
jwcrypto, neither of which signed it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import jwt as pyjwt
import pytest
from conftest import ROOT, TestKey
from jwcrypto import jwk
from jwcrypto import jwt as jwcrypto_jwt

from xctoken import mint_token
from xctoken.errors import ConfigError
from xctoken.inspection import inspect_token
from xctoken.services import ServiceRequest, get, profiles, recognize

NOW = 1_800_000_000
SKEW = 60
TEAM, KID, UUID_KID = "DEF123GHIJ", "ABC123DEFG", "d136aa66-0c3b-4bd4-9892-c20e8db024ab"
ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
BUSINESS = "BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152"
SCHOOL = "SCHOOLAPI.9703f56c-10ce-4876-8f59-e78e5e23a152"
ADS_CLIENT = "SEARCHADS.aaaabbbb-1111-2222-3333-444455556666"
ADS_TEAM = "SEARCHADS.ccccdddd-1111-2222-3333-444455556666"
IAT = NOW - SKEW

# service: (request inputs, expected header, expected claims with "jti" as ANY), per shared/apple-services.md.
ANY = object()
CASES: dict[str, tuple[dict[str, object], dict[str, str], dict[str, object]]] = {
    "app-store-server": (  # section 2
        {"issuer_id": ISSUER, "bundle_id": "com.example.testbundleid"},
        {"alg": "ES256", "kid": KID, "typ": "JWT"},
        {"iss": ISSUER, "iat": IAT, "exp": IAT + 300, "aud": "appstoreconnect-v1", "bid": "com.example.testbundleid"}),
    "apns": (  # section 5: exactly alg+kid, iss+iat
        {"team_id": TEAM}, {"alg": "ES256", "kid": KID}, {"iss": TEAM, "iat": IAT}),
    "device-check": (  # section 6: the APNs token
        {"team_id": TEAM}, {"alg": "ES256", "kid": KID}, {"iss": TEAM, "iat": IAT}),
    "sign-in-with-apple": (  # section 8
        {"team_id": TEAM, "client_id": "com.mytest.app"}, {"alg": "ES256", "kid": KID},
        {"iss": TEAM, "iat": IAT, "exp": IAT + 180 * 86400, "aud": "https://appleid.apple.com",
         "sub": "com.mytest.app"}),
    "musickit": (  # section 9
        {"team_id": TEAM, "origin": ("https://example.com", "https://music.example.com")},
        {"alg": "ES256", "kid": KID},
        {"iss": TEAM, "iat": IAT, "exp": IAT + 180 * 86400,
         "origin": ["https://example.com", "https://music.example.com"]}),
    "weatherkit": (  # section 10
        {"team_id": TEAM, "services_id": "com.example.weatherkit-client"},
        {"alg": "ES256", "kid": KID, "id": f"{TEAM}.com.example.weatherkit-client"},
        {"iss": TEAM, "iat": IAT, "exp": IAT + 3600, "sub": "com.example.weatherkit-client"}),
    "maps": (  # section 11
        {"team_id": TEAM, "scope": ("mapkit_js", "server_api"), "origin": ("example.com", "*.example.com")},
        {"alg": "ES256", "kid": KID, "typ": "JWT"},
        {"iss": TEAM, "iat": IAT, "exp": IAT + 3600, "scope": "mapkit_js server_api",
         "origin": "example.com,*.example.com"}),
    "classkit": (  # section 12
        {"team_id": TEAM}, {"alg": "ES256", "kid": KID, "typ": "JWT"}, {"iss": TEAM, "iat": IAT, "exp": IAT + 1200}),
    "business-manager": (  # section 13
        {"client_id": BUSINESS}, {"alg": "ES256", "kid": UUID_KID},
        {"iss": BUSINESS, "sub": BUSINESS, "aud": "https://account.apple.com/auth/oauth2/v2/token", "iat": IAT,
         "exp": IAT + 600, "jti": ANY}),
    "school-manager": (
        {"client_id": SCHOOL}, {"alg": "ES256", "kid": UUID_KID},
        {"iss": SCHOOL, "sub": SCHOOL, "aud": "https://account.apple.com/auth/oauth2/v2/token", "iat": IAT,
         "exp": IAT + 600, "jti": ANY}),
    "apple-ads": (  # section 14
        {"team_id": ADS_TEAM, "client_id": ADS_CLIENT}, {"alg": "ES256", "kid": UUID_KID},
        {"sub": ADS_CLIENT, "aud": "https://appleid.apple.com", "iat": IAT, "exp": IAT + 3600, "iss": ADS_TEAM}),
}
# The longest lifetime each service allows, as "exp - iat" (None: no documented maximum).
LIMITS = {"app-store-server": 3600, "sign-in-with-apple": 15777000 + SKEW, "musickit": 15777000 + SKEW,
          "classkit": 1800, "business-manager": 180 * 86400 - 1, "school-manager": 180 * 86400 - 1,
          "apple-ads": 180 * 86400 - 1}


def request_for(service: str, **changes: object) -> ServiceRequest:
    inputs = dict(CASES[service][0])
    inputs.update(changes)
    key_id = UUID_KID if get(service).key_id == "uuid" else KID
    return ServiceRequest(service, key_id=key_id, **inputs)  # type: ignore[arg-type]


def test_every_profile_but_app_store_connect_has_a_case() -> None:
    assert {p.name for p in profiles()} - {"app-store-connect"} == set(CASES)


@pytest.mark.parametrize("service", sorted(CASES))
def test_the_token_holds_what_apple_documents(service: str, test_key: TestKey) -> None:
    token = mint_token(request_for(service), test_key.private_key, now=NOW)
    _, header, claims = CASES[service]
    # PyJWT: signature, and the decoded header and claims (no claim checks of its own).
    decoded = pyjwt.decode_complete(token.value, test_key.private_key.public_key(), algorithms=["ES256"],
                                    options={"verify_exp": False, "verify_aud": False, "verify_iat": False})
    assert decoded["header"] == header
    payload = decoded["payload"]
    assert list(payload) == list(claims)  # the order Apple's examples use, and nothing more
    for name, value in claims.items():
        if value is ANY:
            assert str(uuid.UUID(payload[name])) == payload[name]
        else:
            assert payload[name] == value, name
    # jwcrypto, a second independent implementation.
    checked = jwcrypto_jwt.JWT(jwt=token.value, key=jwk.JWK.from_pyca(test_key.private_key.public_key()),
                               algs=["ES256"], check_claims=False)
    assert json.loads(checked.claims) == payload


def test_each_business_assertion_gets_its_own_jti(test_key: TestKey) -> None:
    request = request_for("business-manager")
    first, second = (mint_token(request, test_key.private_key, now=NOW) for _ in range(2))
    assert first.claims["jti"] != second.claims["jti"]


@pytest.mark.parametrize("service", sorted(LIMITS))
def test_every_limit_is_refused_one_second_past_it(service: str) -> None:
    limit = LIMITS[service]
    request_for(service, lifetime=limit)  # at the limit: allowed
    with pytest.raises(ConfigError) as refused:
        request_for(service, lifetime=limit + 1)
    message = str(refused.value)
    assert "\n" not in message and "Apple" in message and "lower --lifetime" in message


@pytest.mark.parametrize("service", ["apns", "device-check"])
def test_tokens_without_exp_refuse_a_lifetime_and_are_valid_an_hour(service: str, test_key: TestKey) -> None:
    with pytest.raises(ConfigError, match="no exp"):
        request_for(service, lifetime="20m")
    token = mint_token(request_for(service), test_key.private_key, now=NOW)
    assert "exp" not in token.claims and token.expires == IAT + 3600


@pytest.mark.parametrize(("service", "changes", "match"), [
    ("app-store-server", {"bundle_id": None}, "--bundle-id"),
    ("apns", {"team_id": "DEF123GHI"}, "team ID must be 10"),
    ("apns", {"bundle_id": "com.example.app"}, "--bundle-id does not apply"),
    ("weatherkit", {"services_id": None}, "--services-id"),
    ("weatherkit", {"origin": ("example.com",)}, "--origin does not apply"),
    ("sign-in-with-apple", {"client_id": None}, "--client-id"),
    ("maps", {"scope": ("mapkit_js", "street_view")}, "street_view is unknown"),
    ("maps", {"scope": ("web_snapshots",), "origin": ()}, "need --origin"),
    ("maps", {"origin": ("https://example.com/",)}, "without scheme"),
    ("business-manager", {"client_id": SCHOOL}, "BUSINESSAPI"),
    ("school-manager", {"client_id": BUSINESS}, "SCHOOLAPI"),
    ("apple-ads", {"team_id": TEAM}, "SEARCHADS"),
])
def test_bad_inputs_are_refused_with_one_line(service: str, changes: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as refused:
        request_for(service, **changes)
    assert "\n" not in str(refused.value)


def test_key_id_shapes_follow_the_service() -> None:
    with pytest.raises(ConfigError, match="UUID"):
        ServiceRequest("apple-ads", key_id=KID, team_id=ADS_TEAM, client_id=ADS_CLIENT)
    with pytest.raises(ConfigError, match="10 upper-case"):
        ServiceRequest("apns", key_id=UUID_KID, team_id=TEAM)


@pytest.mark.parametrize("service", sorted(CASES))
def test_decode_recognizes_each_service_and_passes(service: str, test_key: TestKey) -> None:
    token = mint_token(request_for(service), test_key.private_key, now=NOW)
    report = inspect_token(token.value, NOW, test_key.private_key.public_key())
    assert service in (report.service, *report.also)
    checked = inspect_token(token.value, NOW, test_key.private_key.public_key(), service=service)
    assert checked.valid, [c for c in checked.failures]


def _forge(test_key: TestKey, header: dict[str, object], claims: dict[str, object]) -> str:
    return pyjwt.encode(claims, test_key.private_key, algorithm="ES256", headers=header)


@pytest.mark.parametrize("service", sorted(LIMITS))
def test_decode_fails_a_token_one_second_past_its_limit(service: str, test_key: TestKey, tmp_path: Path) -> None:
    _, header, claims = CASES[service]
    forged = {k: (str(uuid.uuid4()) if v is ANY else v) for k, v in claims.items()}
    # "now"-counted limits are measured at decoding: exp - NOW.
    start = forged["iat"] if service not in ("sign-in-with-apple", "musickit") else NOW
    forged["exp"] = start + LIMITS[service] + 1 - (SKEW if service in ("sign-in-with-apple", "musickit") else 0)
    token = _forge(test_key, {k: v for k, v in header.items() if k not in ("alg",)}, forged)
    report = inspect_token(token, NOW, test_key.private_key.public_key(), service=service)
    assert [c.rule for c in report.failures] and all("exp -" in c.rule for c in report.failures), report.failures
    # the CLI: exit 5 and the rule named
    key_file = test_key.write(tmp_path)
    result = subprocess.run([sys.executable, "-m", "xctoken", "decode", "-", "--service", service, "--key",
                             str(key_file)], input=token, capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 5, result.stderr
    assert "FAIL  exp -" in result.stdout


@pytest.mark.parametrize(("service", "header", "claims", "rule"), [
    ("weatherkit", {"kid": KID, "id": f"{TEAM}.com.example.wk"},
     {"iss": TEAM, "iat": IAT, "exp": IAT + 60, "sub": "com.example.wk", "aud": "weatherkit"}, "claims are only"),
    ("apns", {"kid": KID}, {"iss": TEAM, "iat": IAT, "exp": IAT + 60}, "no exp"),
    ("weatherkit", {"kid": KID, "id": f"{TEAM}.com.other"},
     {"iss": TEAM, "iat": IAT, "exp": IAT + 60, "sub": "com.example.wk"}, "header id"),
    ("sign-in-with-apple", {"kid": KID}, {"iss": TEAM, "iat": IAT, "exp": IAT + 60, "aud": "appleid.apple.com",
                                          "sub": "com.example"}, "aud is https://appleid.apple.com"),
])
def test_decode_refuses_forbidden_or_wrong_claims(service: str, header: dict[str, object],
                                                  claims: dict[str, object], rule: str, test_key: TestKey) -> None:
    report = inspect_token(_forge(test_key, header, claims), NOW, service=service)
    assert any(rule in c.rule for c in report.failures), report.failures


def test_recognize_names_look_alikes() -> None:
    apns = recognize({"alg": "ES256", "kid": KID}, {"iss": TEAM, "iat": IAT})
    assert [p.name for p in apns] == ["apns", "device-check"]
    asc = recognize({"alg": "ES256", "kid": KID, "typ": "JWT"}, {"iss": ISSUER, "iat": 1, "exp": 2,
                                                                 "aud": "appstoreconnect-v1"})
    assert [p.name for p in asc] == ["app-store-connect"]


def test_services_lists_every_profile_on_one_line_each() -> None:
    result = subprocess.run([sys.executable, "-m", "xctoken", "services"], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if line and not line.startswith("xctoken ")]
    assert [line.split()[0] for line in lines] == [p.name for p in profiles()]


def test_adding_a_service_is_adding_a_module() -> None:
    package = ROOT / "xctoken" / "services"
    modules = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    from xctoken.services import SERVICE_MODULES

    assert sorted(SERVICE_MODULES) == modules
    for module in modules:  # small and declarative
        assert len((package / f"{module}.py").read_text().splitlines()) < 80, module


def test_app_store_server_matches_apples_own_library(test_key: TestKey) -> None:
    """Apple's app-store-server-library as the reference: the same header fields, claim names, aud and bid.

    Apple's Python library leaves iat out; the profile sends it, as Apple's documentation lists it
    and its 60-minute rule counts from it. Nothing else may differ.
    """
    from appstoreserverlibrary.api_client import AppStoreServerAPIClient
    from appstoreserverlibrary.models.Environment import Environment

    client = AppStoreServerAPIClient(test_key.pem.encode(), KID, ISSUER, "com.example.testbundleid",
                                     Environment.SANDBOX)
    theirs = pyjwt.decode_complete(client._generate_token(), test_key.private_key.public_key(),  # noqa: SLF001
                                   algorithms=["ES256"], audience="appstoreconnect-v1")
    ours_token = mint_token(request_for("app-store-server"), test_key.private_key)
    ours = pyjwt.decode_complete(ours_token.value, test_key.private_key.public_key(), algorithms=["ES256"],
                                 audience="appstoreconnect-v1")
    assert ours["header"] == theirs["header"]  # alg, kid, typ
    assert set(ours["payload"]) - {"iat"} == set(theirs["payload"])
    for name in ("iss", "aud", "bid"):
        assert ours["payload"][name] == theirs["payload"][name], name
    # Apple's library makes 5-minute tokens: the profile's default.
    assert ours["payload"]["exp"] - ours["payload"]["iat"] == 300


def verify_claims(token: str, test_key: TestKey) -> tuple[dict[str, object], dict[str, object]]:
    """(header, claims) of a token, its signature checked by jwcrypto."""
    checked = jwcrypto_jwt.JWT(jwt=token, key=jwk.JWK.from_pyca(test_key.private_key.public_key()),
                               algs=["ES256"], check_claims=False)
    return json.loads(checked.header), json.loads(checked.claims)


def test_decode_says_when_a_look_alike_service_would_refuse_the_token(test_key: TestKey) -> None:
    """A ClassKit-shaped token living 2 hours reads as Maps (no documented maximum): ClassKit's rule is named."""
    token = _forge(test_key, {"kid": KID, "typ": "JWT"}, {"iss": TEAM, "iat": IAT, "exp": IAT + 7200})
    report = inspect_token(token, NOW)
    assert report.service == "maps" and "classkit" in report.also
    assert report.look_alike_failures["classkit"] == ["exp - iat is at most 1800 s"]
