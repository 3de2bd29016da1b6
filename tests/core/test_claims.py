"""TokenRequest and the claims built from it: Apple's rules, one by one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctoken import (
    AUDIENCE_APP_STORE_CONNECT,
    AUDIENCE_ENTERPRISE,
    DEFAULT_CLOCK_SKEW,
    MAX_LIFETIME,
    MAX_LONG_LIVED_LIFETIME,
    ConfigError,
    KeyType,
    TokenRequest,
    build_claims,
    build_header,
)
from xctoken.claims import MAX_CLOCK_SKEW, parse_duration

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KID = "2X9R4HXF34"
NOW = 1_700_000_000


def team(**kwargs: object) -> TokenRequest:
    return TokenRequest(key_id=KID, issuer_id=ISSUER, **kwargs)  # type: ignore[arg-type]


def refused(fragment: str, **kwargs: object) -> str:
    """Construct a request that must be refused; return the message after checking it."""
    kwargs.setdefault("key_id", KID)
    kwargs.setdefault("issuer_id", ISSUER)
    with pytest.raises(ConfigError) as caught:
        TokenRequest(**kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert fragment in message, message
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------- key types


def test_team_claims_carry_iss_and_no_sub() -> None:
    claims = build_claims(team(), NOW)
    assert claims == {"iss": ISSUER, "iat": NOW - DEFAULT_CLOCK_SKEW,
                      "exp": NOW - DEFAULT_CLOCK_SKEW + MAX_LIFETIME, "aud": AUDIENCE_APP_STORE_CONNECT}


@pytest.mark.parametrize("key_type", [KeyType.INDIVIDUAL, "individual", " Individual "])
def test_individual_claims_carry_sub_user_and_no_iss(key_type: object) -> None:
    request = TokenRequest(key_id=KID, key_type=key_type)  # type: ignore[arg-type]
    claims = build_claims(request, NOW)
    assert claims["sub"] == "user"
    assert "iss" not in claims
    assert set(claims) == {"sub", "iat", "exp", "aud"}


@pytest.mark.parametrize("issuer", [None, "", "   "])
def test_team_key_without_issuer_points_at_individual_keys(issuer: str | None) -> None:
    # fastlane silently signs a sub:user token here; we say what is missing and the way out.
    message = refused("--key-type individual", issuer_id=issuer)
    assert "issuer ID is missing" in message


def test_issuer_with_individual_key_is_refused() -> None:
    refused("individual key", key_type="individual")


def test_unknown_key_type_is_refused() -> None:
    refused("'team' or 'individual'", key_type="admin")


def test_header_is_exactly_alg_kid_typ() -> None:
    assert build_header(team()) == {"alg": "ES256", "kid": KID, "typ": "JWT"}


# ---------------------------------------------------------------------------- audience


def test_audience_default_enterprise_and_override() -> None:
    assert build_claims(team(), NOW)["aud"] == "appstoreconnect-v1"
    assert build_claims(team(audience=AUDIENCE_ENTERPRISE), NOW)["aud"] == "apple-developer-enterprise-v1"
    assert build_claims(team(audience="  my-proxy-v1 "), NOW)["aud"] == "my-proxy-v1"


@pytest.mark.parametrize("audience", ["", "   ", "two words", "bad\x00aud"])
def test_blank_or_spaced_audience_is_refused(audience: str) -> None:
    refused("audience", audience=audience)


# ---------------------------------------------------------------------------- lifetime


@pytest.mark.parametrize(("value", "seconds"), [
    (1200, 1200), ("1200", 1200), ("1200s", 1200), ("20m", 1200), (" 20M ", 1200), ("2m", 120), (1, 1),
])
def test_short_lifetime_forms(value: object, seconds: int) -> None:
    assert team(lifetime=value, clock_skew=0).lifetime == seconds


@pytest.mark.parametrize(("value", "seconds"), [("1h", 3600), ("180d", MAX_LONG_LIVED_LIFETIME),
                                                 (str(MAX_LONG_LIVED_LIFETIME), MAX_LONG_LIVED_LIFETIME)])
def test_long_lifetime_forms_with_eligible_scope(value: str, seconds: int) -> None:
    request = team(lifetime=value, scope=("GET /v1/ciProducts",))
    assert request.lifetime == seconds
    claims = build_claims(request, NOW)
    assert claims["exp"] - claims["iat"] == seconds  # type: ignore[operator]
    assert claims["scope"] == ["GET /v1/ciProducts"]


@pytest.mark.parametrize(("value", "fragment"), [
    (0, "at least 1 second"), (-5, "at least 1 second"), ("-5", "whole number of seconds"),
    ("abc", "whole number of seconds"), ("20 minutes", "whole number of seconds"), ("1.5m", "whole number"),
    ("", "whole number"), (True, "whole number"),
])
def test_bad_lifetimes_are_refused(value: object, fragment: str) -> None:
    refused(fragment, lifetime=value)


def test_lifetime_over_20_minutes_without_scope_is_refused() -> None:
    message = refused("without a scope", lifetime=1201)
    assert "1201" in message and "scope entry such as 'GET /v1/ciProducts'" in message


@pytest.mark.parametrize("scope", [
    ("POST /v1/ciBuildRuns",),
    ("GET /v1/apps",),
    ("GET /v1/ciProducts", "GET /v1/apps"),
    ("DELETE /v1/ciProducts/123",),
    ("GET /v1/ciProducts/1/a/b/c",),
])
def test_long_lived_with_an_ineligible_scope_entry_is_refused(scope: tuple[str, ...]) -> None:
    message = refused("does not allow it", lifetime="1h", scope=scope)
    bad = next(e for e in scope if e not in ("GET /v1/ciProducts",))
    assert f"'{bad}'" in message


def test_long_lived_query_is_not_echoed_in_refusal() -> None:
    message = refused("does not allow it", lifetime="1h", scope=("GET /v1/apps?filter[bundleId]=com.secret",))
    assert "com.secret" not in message


def test_long_lived_with_enterprise_audience_is_refused() -> None:
    refused("only for the appstoreconnect-v1 audience", lifetime="1h", audience=AUDIENCE_ENTERPRISE,
            scope=("GET /v1/ciProducts",))


@pytest.mark.parametrize("lifetime", [MAX_LONG_LIVED_LIFETIME + 1, "181d", "4321h"])
def test_lifetime_over_180_days_is_refused(lifetime: object) -> None:
    refused("180 days", lifetime=lifetime, scope=("GET /v1/ciProducts",))


@pytest.mark.parametrize("entry", [
    "GET /v1/ciProducts",
    "GET /v1/ciWorkflows/abc",
    "GET /v1/apps/123/perfPowerMetrics",
    "GET /v1/diagnosticSignatures/x/logs",
    "GET /v1/ciBuildRuns/1/relationships/actions",
    "GET /v1/scmRepositories?limit=5",
    "GET /v2/ciTestResults/9",
])
def test_long_lived_allowed_for_eligible_get(entry: str) -> None:
    request = team(lifetime="180d", scope=(entry,))
    assert build_claims(request, NOW)["scope"] == [entry]


# ---------------------------------------------------------------------------- scope entries


@pytest.mark.parametrize(("entry", "normalized"), [
    ("GET /v1/apps", "GET /v1/apps"),
    ("  GET /v1/apps?filter[platform]=IOS  ", "GET /v1/apps?filter[platform]=IOS"),
    ("POST /v1/builds", "POST /v1/builds"),
    ("PATCH /v1/apps/123", "PATCH /v1/apps/123"),
    ("DELETE /v1/betaTesters/abc-DEF_1", "DELETE /v1/betaTesters/abc-DEF_1"),
    ("GET /v1/apps?filter[platform]=IOS,MAC_OS&limit=10", "GET /v1/apps?filter[platform]=IOS,MAC_OS&limit=10"),
])
def test_good_scope_entries(entry: str, normalized: str) -> None:
    assert team(scope=(entry,)).scope == (normalized,)
    assert build_claims(team(scope=(entry,)), NOW)["scope"] == [normalized]


@pytest.mark.parametrize(("entry", "fragment"), [
    ("GET https://api.appstoreconnect.apple.com/v1/apps", "must not include the host"),
    ("GET api.appstoreconnect.apple.com/v1/apps", "METHOD /vN/path"),
    ("get /v1/apps", "upper case"),
    ("FETCH /v1/apps", "upper case"),
    ("GET v1/apps", "METHOD /vN/path"),
    ("GET /apps", "METHOD /vN/path"),
    ("GET  /v1/apps", "METHOD /vN/path"),
    ("/v1/apps", "METHOD /vN/path"),
    ("GET", "METHOD /vN/path"),
    ("", "METHOD /vN/path"),
    ("GET /v1/apps GET /v1/builds", "METHOD /vN/path"),
    ("GET /v1/apps\nGET /v1/builds", "METHOD /vN/path"),
    ("GET /v1/apps?filter=a b", "METHOD /vN/path"),
    ("GET /v1/äpps", "METHOD /vN/path"),
])
def test_bad_scope_entries(entry: str, fragment: str) -> None:
    refused(fragment, scope=(entry,))


# ---------------------------------------------------------------------------- identifiers


def test_key_id_is_trimmed() -> None:
    assert TokenRequest(key_id=f"  {KID}\n", issuer_id=ISSUER).key_id == KID


@pytest.mark.parametrize("key_id", [
    "ABCDEFGHJ", "ABCDEFGHJKL", "abcdefghjk", "../../etc1", "2X9R4/XF34", "２X9R4HXF34", "2X9R4HXF3É",
    "2X9R4 HXF3", "-----BEGIN",
])
def test_malformed_key_ids_are_refused_without_echo(key_id: str) -> None:
    message = refused("10 upper-case letters or digits", key_id=key_id)
    assert key_id not in message


def test_empty_key_id_is_refused() -> None:
    refused("key ID is empty", key_id="  ")


@pytest.mark.parametrize("issuer", [ISSUER, ISSUER.upper(), "69a6de70-03db-47e3-e053-5b8c7c11a4d1"])
def test_issuer_shapes_accepted(issuer: str) -> None:
    assert team().issuer_id == ISSUER
    assert TokenRequest(key_id=KID, issuer_id=f" {issuer} ").issuer_id == issuer


# Not Apple's example issuer: the message quotes that example, so a malformed copy of it would match.
OTHER = "69a6de70-03db-47e3-e053-5b8c7c11a4d1"


@pytest.mark.parametrize("issuer", [
    OTHER.replace("-", ""), OTHER[:-1], OTHER + "0", OTHER.replace("a", "g"), "{" + OTHER + "}",
    OTHER + "-", OTHER.replace("-", "_"), "team-123",
])
def test_malformed_issuers_are_refused_without_echo(issuer: str) -> None:
    message = refused("8-4-4-4-12 hex", issuer_id=issuer)
    assert issuer not in message


# ---------------------------------------------------------------------------- clock skew


def test_default_skew_backdates_iat_and_keeps_the_lifetime() -> None:
    claims = build_claims(team(), NOW)
    assert claims["iat"] == NOW - 60
    assert claims["exp"] == claims["iat"] + 1200  # type: ignore[operator]
    assert claims["exp"] - claims["iat"] <= 1200  # type: ignore[operator]  # fastlane's 1260 never happens


def test_custom_skew_and_zero_skew() -> None:
    assert build_claims(team(clock_skew="5m"), NOW)["iat"] == NOW - 300
    zero = build_claims(team(clock_skew=0, lifetime=120), NOW)
    assert (zero["iat"], zero["exp"]) == (NOW, NOW + 120)


@pytest.mark.parametrize(("lifetime", "skew", "fragment"), [
    (60, 60, "smaller than the lifetime"), (120, 300, "smaller than the lifetime"),
    (1200, MAX_CLOCK_SKEW + 1, f"between 0 and {MAX_CLOCK_SKEW}"), (1200, -1, f"between 0 and {MAX_CLOCK_SKEW}"),
    (1200, "soon", "clock skew must be a whole number"),
])
def test_bad_skews_are_refused(lifetime: int, skew: object, fragment: str) -> None:
    refused(fragment, lifetime=lifetime, clock_skew=skew)


def test_times_are_integers_even_for_fractional_now() -> None:
    claims = build_claims(team(), 1_700_000_000.75)  # type: ignore[arg-type]
    assert type(claims["iat"]) is int and type(claims["exp"]) is int
    assert claims["iat"] == 1_700_000_000 - 60


def test_parse_duration_units() -> None:
    assert [parse_duration(v) for v in ("90", "90s", "3m", "2h", "1d")] == [90, 90, 180, 7200, 86400]


# Python's \d and int() take every Unicode decimal digit: Arabic-Indic, Devanagari, fullwidth, ...
NON_ASCII_DIGITS = ["\u0661\u0662\u0660\u0660", "\uff11\uff12\uff10\uff10", "\uff12\uff10m",
                    "\u0967\u0968\u0966\u0966s", "1\u0662\u0660\u0660", "\U0001d7cf\U0001d7d0m"]


@pytest.mark.parametrize("value", NON_ASCII_DIGITS)
def test_durations_take_only_ascii_digits(value: str) -> None:
    with pytest.raises(ConfigError, match="whole number of seconds") as caught:
        parse_duration(value, "--min-valid")
    assert "non-ASCII characters" in str(caught.value) and value not in str(caught.value)
    refused("lifetime must be a whole number", lifetime=value)
    refused("clock skew must be a whole number", lifetime=1200, clock_skew=value)


@pytest.mark.parametrize("key_id", ["\uff12X9R4HXF34", "\u0662X9R4HXF34", "2X9R4HXF3\u0664", "2X9R4HXF3\u212a"])
def test_key_ids_take_only_ascii(key_id: str) -> None:
    refused("10 upper-case letters or digits", key_id=key_id)


@pytest.mark.parametrize("issuer", [ISSUER.replace("5", "\u0665"), ISSUER.replace("a", "\uff41"),
                                    ISSUER.replace("2", "\uff12")])
def test_issuer_ids_take_only_ascii_hex(issuer: str) -> None:
    refused("8-4-4-4-12 hex", issuer_id=issuer)


@settings(max_examples=150, deadline=None)
@given(lifetime=st.integers(min_value=1, max_value=MAX_LIFETIME), data=st.data(),
       now=st.integers(min_value=MAX_CLOCK_SKEW, max_value=2**34))
def test_exp_minus_iat_is_the_lifetime(lifetime: int, data: st.DataObject, now: int) -> None:
    skew = data.draw(st.integers(min_value=0, max_value=min(lifetime - 1, MAX_CLOCK_SKEW)))
    claims = build_claims(team(lifetime=lifetime, clock_skew=skew), now)
    assert claims["iat"] == now - skew
    assert claims["exp"] - claims["iat"] == lifetime  # type: ignore[operator]
    assert claims["exp"] - claims["iat"] <= MAX_LIFETIME  # type: ignore[operator]


@settings(max_examples=150, deadline=None)
@given(lifetime=st.integers(min_value=MAX_LIFETIME + 1, max_value=MAX_LONG_LIVED_LIFETIME),
       skew=st.integers(min_value=0, max_value=MAX_CLOCK_SKEW), now=st.integers(min_value=0, max_value=2**34))
def test_long_lived_exp_minus_iat_is_the_lifetime(lifetime: int, skew: int, now: int) -> None:
    claims = build_claims(team(lifetime=lifetime, clock_skew=skew, scope=("GET /v1/ciWorkflows",)), now)
    assert claims["iat"] == now - skew
    assert claims["exp"] - claims["iat"] == lifetime  # type: ignore[operator]
