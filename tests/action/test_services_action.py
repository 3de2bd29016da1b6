"""The action with another Apple service: the service's token now, and later steps mint the same kind.

Inputs as a workflow passes them (action.yml's defaults for the App Store Connect
inputs, which a service must not trip over); tokens checked with jwcrypto.
"""

from __future__ import annotations

import time

import pytest
from conftest import ISSUER_ID
from conftest import TestKey as AscKey

from .conftest import RunnerStep, commands, team_inputs
from .runner_protocol import verify_with_jwcrypto
from .test_ondemand import later_step

TEAM = "DEF123GHIJ"


def service_inputs(key: AscKey, service: str, **inputs: str) -> dict[str, str]:
    # action.yml's defaults: key-type team, audience appstoreconnect-v1, lifetime empty.
    values = team_inputs(key, **{"issuer-id": "", "lifetime": "", "service": service, **inputs})
    return values


def test_apns_token_now_and_in_later_steps(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = service_inputs(test_key, "apns", **{"team-id": TEAM})
    code, stdout = step.run()
    assert code == 0, stdout
    token = step.outputs()["token"]
    claims = verify_with_jwcrypto(token, test_key.private_key.public_key())
    assert claims == {"iss": TEAM, "iat": claims["iat"]}
    assert int(step.outputs()["expires-at-epoch"]) == claims["iat"] + 3600
    assert step.exported()["XCTOKEN_SERVICE"] == "apns" and step.exported()["XCTOKEN_TEAM_ID"] == TEAM
    assert "XCTOKEN_LIFETIME" not in step.exported()
    assert "signed a token for APNs (apns)" in stdout
    assert "### APNs token" in step.raw("summary")

    later = later_step(step, "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    again = verify_with_jwcrypto(later.stdout.strip(), test_key.private_key.public_key())
    assert set(again) == {"iss", "iat"} and again["iss"] == TEAM


def test_sign_in_with_apple_gets_its_own_default_lifetime(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = service_inputs(test_key, "sign-in-with-apple", **{"team-id": TEAM, "client-id": "com.example.web"})
    code, stdout = step.run()
    assert code == 0, stdout
    claims = verify_with_jwcrypto(step.outputs()["token"], test_key.private_key.public_key())
    assert claims["aud"] == "https://appleid.apple.com" and claims["sub"] == "com.example.web"
    assert claims["exp"] - claims["iat"] == 180 * 86400 and claims["exp"] > time.time()


def test_app_store_server_uses_the_issuer_and_bundle_id(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = service_inputs(test_key, "app-store-server", **{"issuer-id": ISSUER_ID,
                                                                  "bundle-id": "com.example.app"})
    code, stdout = step.run()
    assert code == 0, stdout
    claims = verify_with_jwcrypto(step.outputs()["token"], test_key.private_key.public_key())
    assert claims["bid"] == "com.example.app" and claims["exp"] - claims["iat"] == 300
    later = later_step(step, "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    assert verify_with_jwcrypto(later.stdout.strip(), test_key.private_key.public_key())["bid"] == "com.example.app"


@pytest.mark.parametrize(("inputs", "words"), [
    ({"service": "apns", "team-id": TEAM, "export-for": "fastlane"}, "export-for"),
    ({"service": "apns", "team-id": TEAM, "key-type": "individual"}, "key-type"),
    ({"service": "apns"}, "team-id"),
    ({"service": "apns", "team-id": TEAM, "lifetime": "20m"}, "no exp"),
    ({"service": "sign-in-with-apple", "team-id": TEAM, "client-id": "com.example.web", "lifetime": "183d"},
     "15777000"),
    ({"service": "weather"}, "unknown service"),
])
def test_bad_service_inputs_fail_cleanly(step: RunnerStep, test_key: AscKey, inputs: dict[str, str],
                                         words: str) -> None:
    step.inputs = service_inputs(test_key, **inputs)  # type: ignore[arg-type]
    code, stdout = step.run()
    assert code == 3, stdout
    [error] = commands(stdout, "error")
    assert words.replace("-", "") in error.replace("-", "")
    assert step.file_commands_untouched()
    assert not (step.runner_temp / "xctoken").exists()
