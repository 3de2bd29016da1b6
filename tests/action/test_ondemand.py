"""mint-on-demand in-process (the portable action's way): what later steps get, and what they can do with it.

A later step is a real process: the launcher from GITHUB_PATH, the variables from
GITHUB_ENV (read back with the runner's parser), nothing else of this test's
environment. Tokens are verified with jwcrypto and the openssl CLI.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import ISSUER_ID, clean_env
from conftest import TestKey as AscKey

from xctoken.ondemand import TOOLS, docker_launcher, forwarded_variables

from .conftest import RunnerStep, commands, team_inputs
from .runner_protocol import verify_with_jwcrypto, verify_with_openssl


def later_step(step: RunnerStep, *argv: str) -> subprocess.CompletedProcess[str]:
    path_entries = [line for line in step.raw("path").splitlines() if line.strip()]
    env = clean_env(GITHUB_ACTIONS="true", RUNNER_TEMP=str(step.runner_temp), GITHUB_ENV=str(step.files / "env"))
    env["PATH"] = os.pathsep.join([*path_entries, "/usr/bin", "/bin"])
    env.update(step.exported())
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, cwd=step.workspace, timeout=60)


def test_a_later_step_mints_the_same_kind_of_token(step: RunnerStep, test_key: AscKey, tmp_path: Path) -> None:
    step.inputs = team_inputs(test_key, lifetime="10m", scope="GET /v1/apps\nGET /v1/builds")
    code, stdout = step.run()
    assert code == 0, stdout
    exported = step.exported()
    key_file = step.runner_temp / "xctoken" / "private_keys" / f"AuthKey_{test_key.key_id}.p8"
    assert exported["ASC_PRIVATE_KEY_PATH"] == str(key_file) == step.outputs()["private-key-path"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text() == test_key.pem
    launcher = step.runner_temp / "xctoken" / "bin" / "xctoken"
    assert step.raw("path") == f"{launcher.parent}\n" and stat.S_IMODE(launcher.stat().st_mode) == 0o700
    assert "later steps mint fresh tokens" in stdout

    result = later_step(step, "xctoken", "generate")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    claims = verify_with_jwcrypto(token, test_key.private_key.public_key())
    verify_with_openssl(token, test_key.private_key.public_key(), tmp_path)
    assert claims["iss"] == ISSUER_ID and claims["exp"] - claims["iat"] == 600
    assert claims["scope"] == ["GET /v1/apps", "GET /v1/builds"] and claims["aud"] == "appstoreconnect-v1"
    assert token != step.outputs()["token"]
    assert f"::add-mask::{token}" in result.stderr  # masked before it is printed
    assert "warning" not in result.stderr  # one source for each setting: nothing to warn about


def test_an_individual_key_works_on_demand(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"issuer-id": "", "key-type": "individual"})
    code, stdout = step.run()
    assert code == 0, stdout
    assert "ASC_ISSUER_ID" not in step.exported() and step.exported()["XCTOKEN_KEY_TYPE"] == "individual"
    result = later_step(step, "xctoken", "generate")
    assert result.returncode == 0, result.stderr
    claims = verify_with_jwcrypto(result.stdout.strip(), test_key.private_key.public_key())
    assert claims["sub"] == "user" and "iss" not in claims


def test_an_enterprise_audience_carries_over(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, audience="apple-developer-enterprise-v1", **{"export-for": "fastlane"})
    assert step.run()[0] == 0
    assert step.exported()["APP_STORE_CONNECT_API_KEY_IN_HOUSE"] == "true"
    result = later_step(step, "xctoken", "generate")
    assert result.returncode == 0, result.stderr
    assert verify_with_jwcrypto(result.stdout.strip(), test_key.private_key.public_key())["aud"] == \
        "apple-developer-enterprise-v1"


def test_cache_in_a_later_step_lives_in_runner_temp(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key)
    assert step.run()[0] == 0
    first = later_step(step, "xctoken", "generate", "--cache")
    second = later_step(step, "xctoken", "generate", "--cache")
    assert first.returncode == second.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert len(list((step.runner_temp / "xctoken" / "cache").iterdir())) == 1


def test_export_for_every_tool_points_at_the_one_key_file(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"export-for": "fastlane, altool eas\nelectron codemagic asc"})
    code, stdout = step.run()
    assert code == 0, stdout
    exported = step.exported()
    key_file = str(step.runner_temp / "xctoken" / "private_keys" / f"AuthKey_{test_key.key_id}.p8")
    json_file = step.outputs()["api-key-json-path"]
    assert exported["APP_STORE_CONNECT_API_KEY_KEY_FILEPATH"] == key_file
    assert exported["SPACESHIP_CONNECT_API_KEY_FILEPATH"] == key_file
    assert exported["APP_STORE_CONNECT_API_KEY_PATH"] == json_file and Path(json_file).is_file()
    assert exported["API_PRIVATE_KEYS_DIR"] == str(Path(key_file).parent)
    assert exported["EXPO_ASC_API_KEY_PATH"] == exported["APPLE_API_KEY"] == key_file
    assert exported["APP_STORE_CONNECT_PRIVATE_KEY"] == f"@file:{key_file}"
    assert exported["APPLE_API_ISSUER"] == exported["EXPO_ASC_ISSUER_ID"] == ISSUER_ID
    assert exported["APP_STORE_CONNECT_KEY_IDENTIFIER"] == exported["APPLE_API_KEY_ID"] == test_key.key_id
    for name, value in exported.items():  # paths and IDs only: no key content in any variable
        assert "PRIVATE KEY-----" not in value and test_key.pem.splitlines()[1] not in value, name
    # Every variable each tool reads is exported.
    for tool in ("fastlane", "altool", "eas", "electron", "codemagic", "asc"):
        assert set(TOOLS[tool].variables) <= set(exported), tool
    # The CLI itself sees several tools' names for the same key and IDs: no conflict warnings.
    result = later_step(step, "xctoken", "generate")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    # Nor does check see a mix of families: XCTOKEN_* completes ASC_*, fastlane's in-house flag is unused.
    checked = later_step(step, "xctoken", "check")
    assert checked.returncode == 0 and "warning" not in checked.stderr, checked.stderr


@pytest.mark.parametrize("value, message", [
    ("electron tauri", "electron and tauri both read APPLE_API_KEY"),
    ("fastlane xcode", "unknown tool xcode"),
])
def test_bad_export_for_is_refused(step: RunnerStep, test_key: AscKey, value: str, message: str) -> None:
    step.inputs = team_inputs(test_key, **{"export-for": value})
    code, stdout = step.run()
    assert code == 3 and message in commands(stdout, "error")[0]
    assert step.file_commands_untouched() and not (step.runner_temp / "xctoken").exists()


def test_env_name_may_not_be_a_variable_the_action_exports(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"env-name": "ASC_KEY_ID"})
    code, stdout = step.run()
    assert code == 3 and "env-name ASC_KEY_ID" in commands(stdout, "error")[0]
    assert step.file_commands_untouched() and not (step.runner_temp / "xctoken").exists()


def test_mint_on_demand_false_leaves_nothing(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"mint-on-demand": "false"})
    code, stdout = step.run()
    assert code == 0, stdout
    assert step.raw("path") == "" and list(step.exported()) == ["APP_STORE_CONNECT_TOKEN"]
    assert not (step.runner_temp / "xctoken").exists()
    assert later_step(step, "sh", "-c", "command -v xctoken").returncode != 0


def test_the_docker_launcher_passes_values_by_name_only() -> None:
    script = docker_launcher("sha256:" + "ab" * 32)
    assert "--pull=never" in script and "--log-driver=none" in script and '--user "$(id -u):$(id -g)"' in script
    for name in ("ASC_PRIVATE_KEY", "ASC_PRIVATE_KEY_PATH", "XCTOKEN_SCOPE", "GITHUB_ENV", "RUNNER_TEMP"):
        assert name in forwarded_variables() and f"-e {name} " in script + " "
    assert "$ASC_PRIVATE_KEY" not in script  # never expanded onto docker's command line
    with pytest.raises(ValueError):
        docker_launcher("sha256:$(rm -rf /)")
