"""The services through the CLI: generate, check, decode --expires-within, and --cache's APNs rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, TestKey, clean_env

from xctoken import Signer, load_private_key
from xctoken.cache import cached_or_new
from xctoken.services import ServiceRequest

from .test_services import verify_claims

TEAM = "DEF123GHIJ"


def xctoken(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xctoken", *args], env={**env, "PYTHONPATH": str(ROOT)},
                          input=stdin, capture_output=True, text=True, timeout=60)


def key_env(test_key: TestKey, tmp_path: Path, **extra: str) -> dict[str, str]:
    return clean_env(ASC_KEY_ID=test_key.key_id, ASC_PRIVATE_KEY_PATH=str(test_key.write(tmp_path)), **extra)


def test_generate_takes_the_service_and_its_inputs_from_flags_or_variables(test_key: TestKey, tmp_path: Path) -> None:
    env = key_env(test_key, tmp_path)
    by_flags = xctoken("generate", "--service", "weatherkit", "--team-id", TEAM, "--services-id", "com.example.wk",
                       env=env)
    assert by_flags.returncode == 0, by_flags.stderr
    by_env = xctoken("generate", env={**env, "XCTOKEN_SERVICE": "weatherkit", "XCTOKEN_TEAM_ID": TEAM,
                                      "XCTOKEN_SERVICES_ID": "com.example.wk"})
    assert by_env.returncode == 0, by_env.stderr
    for result in (by_flags, by_env):
        header, claims = verify_claims(result.stdout.strip(), test_key)
        assert header["id"] == f"{TEAM}.com.example.wk" and claims["sub"] == "com.example.wk"
        assert set(claims) == {"iss", "iat", "exp", "sub"}


def test_app_store_connect_variables_of_the_job_do_not_leak_into_another_service(test_key: TestKey,
                                                                                 tmp_path: Path) -> None:
    """A job the action set up for App Store Connect (ASC_ISSUER_ID, XCTOKEN_LIFETIME...) can still mint APNs."""
    env = key_env(test_key, tmp_path, ASC_ISSUER_ID="57246542-96fe-1a63-e053-0824d011072a",
                  XCTOKEN_LIFETIME="1200", XCTOKEN_KEY_TYPE="team", XCTOKEN_AUDIENCE="appstoreconnect-v1")
    result = xctoken("generate", "--service", "apns", "--team-id", TEAM, env=env)
    assert result.returncode == 0, result.stderr
    assert set(verify_claims(result.stdout.strip(), test_key)[1]) == {"iss", "iat"}


@pytest.mark.parametrize(("args", "words"), [
    (["--service", "apns"], "--team-id"),
    (["--service", "apns", "--team-id", TEAM, "--bundle-id", "com.example.app"], "does not apply"),
    (["--team-id", TEAM], "--service"),
    (["--service", "apns", "--team-id", TEAM, "--key-type", "individual"], "--key-type"),
    (["--service", "nope", "--team-id", TEAM], "unknown service"),
])
def test_bad_service_flags_are_configuration_errors(test_key: TestKey, tmp_path: Path, args: list[str],
                                                    words: str) -> None:
    result = xctoken("generate", *args, env=key_env(test_key, tmp_path, ASC_ISSUER_ID=""))
    assert result.returncode == 3 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("xctoken: error: ") and words in line


def test_check_shows_the_service_and_its_inputs(test_key: TestKey, tmp_path: Path) -> None:
    result = xctoken("check", "--service", "sign-in-with-apple", "--team-id", TEAM, "--client-id", "com.example.web",
                     env=key_env(test_key, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "service:    sign-in-with-apple (Sign in with Apple)" in result.stdout
    assert "client id:  com.example.web" in result.stdout
    assert "self-test:  a token signed and verified in memory" in result.stdout


def test_decode_expires_within_alerts_before_a_stored_secret_lapses(test_key: TestKey, tmp_path: Path) -> None:
    env = key_env(test_key, tmp_path)
    made = xctoken("generate", "--service", "sign-in-with-apple", "--team-id", TEAM, "--client-id", "com.example.web",
                   "--lifetime", "20d", env=env)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    fine = xctoken("decode", "-", "--expires-within", "10d", env=env, stdin=secret)
    assert fine.returncode == 0, fine.stderr
    assert "service: sign-in-with-apple" in fine.stdout
    soon = xctoken("decode", "-", "--expires-within", "30d", env=env, stdin=secret)
    assert soon.returncode == 6
    assert "within --expires-within 30d" in soon.stderr and secret not in soon.stderr + soon.stdout


def test_apns_cache_reuses_for_50_minutes_and_never_remints_within_20(test_key: TestKey, tmp_path: Path) -> None:
    env = {"XCTOKEN_CACHE_DIR": str(tmp_path)}
    signer = Signer(ServiceRequest("apns", key_id=test_key.key_id, team_id=TEAM), load_private_key(test_key.pem))
    t0 = 1_900_000_000
    first, _ = cached_or_new(signer, env, 300, now=t0)
    # 19 min on, asking for 45 min of validity (more than is left): still the same token, as
    # a new one within 20 minutes would get 429 TooManyProviderTokenUpdates.
    young, _ = cached_or_new(signer, env, 45 * 60, now=t0 + 19 * 60)
    assert young.value == first.value
    at_49, _ = cached_or_new(signer, env, 300, now=t0 + 49 * 60)  # 49 min after it was minted
    assert at_49.value == first.value
    at_51, _ = cached_or_new(signer, env, 300, now=t0 + 51 * 60)  # 51 min: a new one
    assert at_51.value != first.value and at_51.expires == int(at_51.claims["iat"]) + 3600  # type: ignore[call-overload]


def test_a_job_set_up_for_app_store_connect_does_not_shorten_a_sign_in_with_apple_secret(test_key: TestKey,
                                                                                       tmp_path: Path) -> None:
    env = key_env(test_key, tmp_path, XCTOKEN_LIFETIME="1200", XCTOKEN_SCOPE="GET /v1/apps")
    result = xctoken("generate", "--service", "sign-in-with-apple", "--team-id", TEAM, "--client-id",
                     "com.example.web", env=env)
    assert result.returncode == 0, result.stderr
    claims = verify_claims(result.stdout.strip(), test_key)[1]
    assert claims["exp"] - claims["iat"] == 180 * 86400  # the service's default, not the job's 1200
    # A job set up for this very service keeps its settings.
    same = xctoken("generate", env={**env, "XCTOKEN_SERVICE": "sign-in-with-apple", "XCTOKEN_TEAM_ID": TEAM,
                                    "XCTOKEN_CLIENT_ID": "com.example.web", "XCTOKEN_LIFETIME": "30d",
                                    "XCTOKEN_SCOPE": ""})
    assert same.returncode == 0, same.stderr
    claims = verify_claims(same.stdout.strip(), test_key)[1]
    assert claims["exp"] - claims["iat"] == 30 * 86400


def test_an_in_app_purchase_key_file_names_its_key_id(test_key: TestKey, tmp_path: Path) -> None:
    key_file = test_key.write(tmp_path, f"SubscriptionKey_{test_key.key_id}.p8")
    env = clean_env(ASC_PRIVATE_KEY_PATH=str(key_file), ASC_ISSUER_ID="57246542-96fe-1a63-e053-0824d011072a")
    result = xctoken("generate", "--service", "app-store-server", "--bundle-id", "com.example.app", env=env)
    assert result.returncode == 0, result.stderr
    assert verify_claims(result.stdout.strip(), test_key)[0]["kid"] == test_key.key_id


def test_the_image_entry_point_lists_the_services() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), "services"], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and "apns" in result.stdout


def test_a_job_set_up_for_another_service_does_not_change_an_app_store_connect_token(test_key: TestKey,
                                                                                   tmp_path: Path) -> None:
    env = key_env(test_key, tmp_path, ASC_ISSUER_ID="57246542-96fe-1a63-e053-0824d011072a",
                  XCTOKEN_SERVICE="maps", XCTOKEN_LIFETIME="600", XCTOKEN_SCOPE="server_api")
    result = xctoken("generate", "--service", "app-store-connect", env=env)
    assert result.returncode == 0, result.stderr
    claims = verify_claims(result.stdout.strip(), test_key)[1]
    assert claims["exp"] - claims["iat"] == 1200 and "scope" not in claims


def test_key_dir_takes_uuid_key_ids(test_key: TestKey, tmp_path: Path) -> None:
    key_id = "d136aa66-0c3b-4bd4-9892-c20e8db024ab"
    keys = tmp_path / "keys"
    keys.mkdir()
    test_key.write(keys, f"AuthKey_{key_id}.p8")
    result = xctoken("generate", "--service", "business-manager", "--key-dir", str(keys), "--key-id", key_id,
                     "--client-id", "BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152", env=clean_env())
    assert result.returncode == 0, result.stderr
    assert verify_claims(result.stdout.strip(), test_key)[0]["kid"] == key_id


def test_cache_fits_short_lived_services_and_refuses_single_use_assertions(test_key: TestKey,
                                                                           tmp_path: Path) -> None:
    env = key_env(test_key, tmp_path, ASC_ISSUER_ID="57246542-96fe-1a63-e053-0824d011072a",
                  XCTOKEN_CACHE_DIR=str(tmp_path / "cache"))
    first = xctoken("generate", "--cache", "--service", "app-store-server", "--bundle-id", "com.example.app",
                    env=env)
    again = xctoken("generate", "--cache", "--service", "app-store-server", "--bundle-id", "com.example.app",
                    env=env)
    assert first.returncode == again.returncode == 0, first.stderr
    assert first.stdout == again.stdout  # 5-minute tokens: reused while half their life is left
    single = xctoken("generate", "--cache", "--service", "business-manager", "--key-id",
                     "d136aa66-0c3b-4bd4-9892-c20e8db024ab",
                     "--client-id", "BUSINESSAPI.9703f56c-10ce-4876-8f59-e78e5e23a152", env=env)
    assert single.returncode == 3 and "single-use" in single.stderr
