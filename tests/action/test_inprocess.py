"""The action run in-process, as the runner would: INPUT_* variables (hyphens kept) and file commands.

Everything written is read back with a parser that follows the runner's rules
(runner_protocol.py), and every token is verified by jwcrypto and the openssl CLI.
"""

from __future__ import annotations

import base64
import io
import json
import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import ISSUER_ID, clean_env, run_cli
from conftest import TestKey as AscKey
from cryptography.hazmat.primitives import serialization

from xctoken.action import host_runner_temp, run
from xctoken.ci import github

from .conftest import RunnerStep, commands, team_inputs
from .runner_protocol import (
    first_appearance,
    parse_file_commands,
    parse_workflow_commands,
    token_header,
    verify_with_jwcrypto,
    verify_with_openssl,
)


def key_lines(key: AscKey) -> list[str]:
    return [line for line in key.pem.splitlines() if line and not line.startswith("-----")]


def assert_masked_before_seen(stdout: str, secret: str) -> None:
    """The first line showing ``secret`` is its own ::add-mask:: command (or it never shows)."""
    masks = [c for c in parse_workflow_commands(stdout) if c.command == "add-mask" and c.data == secret]
    assert masks, "the secret was never masked"
    seen = first_appearance(stdout, secret)
    assert seen is None or seen >= masks[0].line_number


def assert_only_in_mask_commands(stdout: str, fragment: str) -> None:
    for line in stdout.splitlines():
        if fragment in line:
            assert line.startswith("::add-mask::"), f"secret shown outside a mask command: {line[:30]}..."


def test_team_key_base64_input(step: RunnerStep, test_key: AscKey, tmp_path: Path) -> None:
    step.inputs = team_inputs(test_key, **{"mint-on-demand": "false"})
    code, stdout = step.run()
    assert code == 0, stdout
    outputs = step.outputs()
    assert set(outputs) == {"token", "expires-at", "expires-at-epoch"}
    token = outputs["token"]
    claims = verify_with_jwcrypto(token, test_key.private_key.public_key())
    verify_with_openssl(token, test_key.private_key.public_key(), tmp_path)
    assert token_header(token) == {"alg": "ES256", "kid": test_key.key_id, "typ": "JWT"}
    assert claims["iss"] == ISSUER_ID and claims["aud"] == "appstoreconnect-v1"
    assert claims["exp"] - claims["iat"] == 1200
    assert outputs["expires-at-epoch"] == str(claims["exp"])
    assert outputs["expires-at"] == datetime.fromtimestamp(claims["exp"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert step.exported() == {"APP_STORE_CONNECT_TOKEN": token}
    # Masks: the token before anything shows it, the input as given, each PEM line.
    assert_masked_before_seen(stdout, token)
    assert_only_in_mask_commands(stdout, token)
    masked = commands(stdout, "add-mask")
    assert step.inputs["private-key"] in masked
    assert all(line in masked for line in key_lines(test_key))
    assert "".join(key_lines(test_key)) in masked
    # The log: one non-secret summary line; the job summary: the facts table.
    plain = [line for line in stdout.splitlines() if not line.startswith("::")]
    assert len(plain) == 1 and test_key.key_id in plain[0] and "$APP_STORE_CONNECT_TOKEN" in plain[0]
    summary = step.raw("summary")
    for fact in (f"| Key ID | {test_key.key_id} |", "| Key type | team |", "| Audience | appstoreconnect-v1 |",
                 f"| Expires at | {outputs['expires-at']} |", "| Issued at |", "| Scope |"):
        assert fact in summary
    assert token not in summary


def test_raw_pem_input_is_masked_line_by_line_and_escaped(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"private-key": test_key.pem})
    code, stdout = step.run()
    assert code == 0, stdout
    masks = commands(stdout, "add-mask")
    # The whole PEM went out as ONE command: its newlines escaped, so no line of it printed bare.
    assert test_key.pem.strip() in masks
    for line in key_lines(test_key):
        assert line in masks
        assert_only_in_mask_commands(stdout, line)
    assert "-----BEGIN PRIVATE KEY-----" not in masks  # public armor is not masked


def test_individual_key_with_scope_and_long_lifetime(step: RunnerStep, test_key: AscKey) -> None:
    scope = "GET /v1/ciProducts\n\n  GET /v1/ciBuildRuns?limit=200  \n"
    step.inputs = team_inputs(test_key, **{"issuer-id": "", "key-type": "individual", "lifetime": "7d",
                                           "scope": scope, "env-name": "ASC_CI_TOKEN", "mint-on-demand": "false"})
    code, stdout = step.run()
    assert code == 0, stdout
    token = step.outputs()["token"]
    claims = verify_with_jwcrypto(token, test_key.private_key.public_key())
    assert claims["sub"] == "user" and "iss" not in claims
    assert claims["scope"] == ["GET /v1/ciProducts", "GET /v1/ciBuildRuns?limit=200"]
    assert claims["exp"] - claims["iat"] == 7 * 86400
    assert step.exported() == {"ASC_CI_TOKEN": token}
    assert "GET /v1/ciBuildRuns?limit=200" in step.raw("summary")


def test_empty_env_name_exports_nothing(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"env-name": "", "mint-on-demand": "false"})
    code, stdout = step.run()
    assert code == 0, stdout
    assert step.raw("env") == ""
    assert "token" in step.outputs()
    assert "not exported" in stdout


def test_write_key_file(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"write-key-file": "true"})
    code, stdout = step.run()
    assert code == 0, stdout
    outputs, exported = step.outputs(), step.exported()
    key_path, keys_dir, json_path = (Path(outputs[n]) for n in
                                     ("private-key-path", "private-keys-dir", "api-key-json-path"))
    assert key_path == keys_dir / f"AuthKey_{test_key.key_id}.p8"
    assert exported["API_PRIVATE_KEYS_DIR"] == str(keys_dir)
    for path in (key_path, json_path):
        assert path.is_relative_to(step.runner_temp) and not path.is_relative_to(step.workspace)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    loaded = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert loaded.private_numbers() == test_key.private_key.private_numbers()
    assert key_path.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, as altool wants
    fastlane = json.loads(json_path.read_text())
    assert fastlane == {"key_id": test_key.key_id, "issuer_id": ISSUER_ID, "key": key_path.read_text(),
                        "duration": 1140, "in_house": False}
    # fastlane backdates iat by 60 s and sets exp = now + duration: its tokens stay within Apple's 20 minutes.
    assert fastlane["duration"] + 60 <= 1200
    assert "key file in" in stdout


def test_private_key_path_input(step: RunnerStep, test_key: AscKey) -> None:
    path = test_key.write(step.workspace)
    step.inputs = team_inputs(test_key, **{"private-key": "", "private-key-path": str(path), "key-id": ""})
    code, stdout = step.run()
    assert code == 0, stdout
    token = step.outputs()["token"]
    verify_with_jwcrypto(token, test_key.private_key.public_key())
    assert token_header(token)["kid"] == test_key.key_id  # from the file name AuthKey_<KEYID>.p8


def test_absent_env_name_input_means_the_default(step: RunnerStep, test_key: AscKey) -> None:
    inputs = team_inputs(test_key, **{"mint-on-demand": "false"})
    del inputs["env-name"]
    step.inputs = inputs
    code, stdout = step.run()
    assert code == 0, stdout
    assert list(step.exported()) == ["APP_STORE_CONNECT_TOKEN"]


@pytest.mark.parametrize("name", [
    "GITHUB_TOKEN", "github_path", "RUNNER_TEMP", "NODE_OPTIONS", "ACTIONS_STEP_DEBUG", "PATH",
    "A=B", "A<<EOF", "A B", "A\nB", "TOKEN\n::set-env name=X::y", "1ABC", "LD_PRELOAD",
])
def test_refused_env_names(step: RunnerStep, test_key: AscKey, name: str) -> None:
    step.inputs = team_inputs(test_key, **{"env-name": name, "write-key-file": "true"})
    code, stdout = step.run()
    assert code == 3
    assert step.file_commands_untouched()
    assert not any(step.runner_temp.iterdir())
    found = parse_workflow_commands(stdout)
    assert [c.command for c in found if c.command != "add-mask"] == ["error"]
    assert "env-name" in commands(stdout, "error")[0]


@pytest.mark.parametrize(("overrides", "code", "phrase"), [
    ({"private-key": ""}, 3, "exactly one of private-key"),
    ({"private-key-path": "/nonexistent/AuthKey_2X9R4HXF34.p8"}, 3, "exactly one of private-key"),
    ({"private-key": "", "private-key-path": "missing/AuthKey_2X9R4HXF34.p8"}, 4, "RUNNER_TEMP"),
    ({"private-key": "bm90IGEga2V5IGF0IGFsbA=="}, 4, "private key"),
    ({"key-id": "2x9r4hxf34\n::warning::injected"}, 3, "key ID"),
    ({"issuer-id": ""}, 3, "issuer-id"),
    ({"key-id": ""}, 3, "key-id"),
    ({"key-type": "admin"}, 3, "key type"),
    ({"lifetime": "2h"}, 3, "1200"),
    ({"scope": "GET https://api.appstoreconnect.apple.com/v1/apps"}, 3, "host"),
    ({"audience": "two words"}, 3, "audience"),
    ({"write-key-file": "yes"}, 3, "write-key-file"),
])
def test_bad_inputs_fail_cleanly(step: RunnerStep, test_key: AscKey, overrides: dict[str, str], code: int,
                                 phrase: str) -> None:
    step.inputs = team_inputs(test_key, **overrides)
    exit_code, stdout = step.run()
    assert exit_code == code, stdout
    assert step.file_commands_untouched()
    found = parse_workflow_commands(stdout)
    errors = [c for c in found if c.command == "error"]
    assert len(errors) == 1 and phrase in errors[0].data
    assert errors[0].properties == {"title": "xctoken"}
    # Nothing but masks and the one error: no injected command, no token.
    assert {c.command for c in found} <= {"add-mask", "error"}
    assert [line for line in stdout.splitlines() if not line.startswith("::")] == []
    for line in key_lines(test_key):
        assert_only_in_mask_commands(stdout, line)


def test_hostile_key_input_is_masked_and_never_printed(step: RunnerStep, test_key: AscKey) -> None:
    hostile = "::stop-commands::pwned\nnot%0Aa key 100%\r\n::add-mask::x\n"
    step.inputs = team_inputs(test_key, **{"private-key": hostile})
    code, stdout = step.run()
    assert code == 4
    found = parse_workflow_commands(stdout)
    assert [c.command for c in found] == ["add-mask"] * 4 + ["error"]
    assert [c.data for c in found[:4]] == [hostile.strip(), "::stop-commands::pwned", "not%0Aa key 100%",
                                           "::add-mask::x"]
    assert "stop-commands" not in found[-1].data
    assert len(stdout.splitlines()) == 5  # every mask went out as one escaped line


def test_an_unwritable_env_file_leaves_no_output_and_no_key_file(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key, **{"write-key-file": "true"})
    (step.files / "env").unlink()
    (step.files / "env").mkdir()  # the runner's file exists but cannot be appended to
    code, stdout = step.run()
    assert code == 7
    assert step.raw("output") == "" and step.raw("summary") == ""
    assert not (step.runner_temp / "xctoken").exists()  # neither files nor the directories made for them
    assert "GITHUB_ENV" in commands(stdout, "error")[0] or "env" in commands(stdout, "error")[0]


def test_missing_runner_files_are_an_error(step: RunnerStep, test_key: AscKey) -> None:
    step.inputs = team_inputs(test_key)
    step.extra_env = {"GITHUB_OUTPUT": ""}
    code, stdout = step.run()
    assert code == 7 and "GITHUB_OUTPUT" in commands(stdout, "error")[0]


def test_two_runs_append_records_the_runner_reads_in_order(step: RunnerStep, make_key) -> None:
    first, second = make_key("AAAAAAAAAA"), make_key("BBBBBBBBBB")
    step.inputs = team_inputs(first)
    assert step.run()[0] == 0
    step.inputs = team_inputs(second, **{"write-key-file": "true"})
    assert step.run()[0] == 0
    token = step.exported()["APP_STORE_CONNECT_TOKEN"]
    assert token_header(token)["kid"] == "BBBBBBBBBB"
    verify_with_jwcrypto(token, second.private_key.public_key())


# -- the container's path mapping -------------------------------------------------


def test_host_runner_temp_in_a_container_action() -> None:
    env = {"RUNNER_TEMP": "/github/runner_temp", "GITHUB_WORKSPACE": "/github/workspace",
           "RUNNER_WORKSPACE": "/home/runner/work/xctoken-action"}
    assert host_runner_temp(env) == "/home/runner/work/_temp"
    env["RUNNER_WORKSPACE"] = "/opt/actions-runner/_work/repo/"
    assert host_runner_temp(env) == "/opt/actions-runner/_work/_temp"


def test_host_runner_temp_outside_a_container_is_runner_temp() -> None:
    assert host_runner_temp({"RUNNER_TEMP": "/home/runner/work/_temp"}) == "/home/runner/work/_temp"
    assert host_runner_temp({"RUNNER_TEMP": "D:\\a\\_temp"}) == "D:\\a\\_temp"


@pytest.mark.parametrize("workspace", ["", "/github/workspace", "relative/path"])
def test_host_runner_temp_refuses_to_guess(workspace: str) -> None:
    from xctoken.errors import OutputError

    with pytest.raises(OutputError, match="host"):
        host_runner_temp({"RUNNER_TEMP": "/github/runner_temp", "RUNNER_WORKSPACE": workspace})


# -- the GitHub adapter: escaping and `xctoken generate --export` ------------------


def test_error_annotations_are_escaped() -> None:
    line = github.command_line("error", "50% done\nthen ::warning::x", title="a:b,c")
    assert "\n" not in line
    parsed = parse_workflow_commands(line)
    assert parsed[0].data == "50% done\nthen ::warning::x" and parsed[0].properties == {"title": "a:b,c"}


def test_blank_values_are_never_registered_as_masks() -> None:
    out = io.StringIO()
    github.add_masks(["", "   ", "\n\n", "ab", "-----BEGIN PRIVATE KEY-----", "abcd\n  \nefgh"], out)
    assert commands(out.getvalue(), "add-mask") == ["abcd\n  \nefgh", "abcd", "efgh"]


def test_cli_export_on_github(tmp_path: Path, test_key: AscKey) -> None:
    key_path = test_key.write(tmp_path)
    env_file = tmp_path / "env"
    env_file.touch()
    env = clean_env(GITHUB_ACTIONS="true", GITHUB_ENV=str(env_file), ASC_KEY_ID=test_key.key_id,
                    ASC_ISSUER_ID=ISSUER_ID, ASC_PRIVATE_KEY_PATH=str(key_path))
    result = run_cli("generate", "--export", "MY_TOKEN", env=env)
    assert result.returncode == 0, result.stderr
    token = parse_file_commands(env_file.read_text())["MY_TOKEN"]
    verify_with_jwcrypto(token, test_key.private_key.public_key())
    stdout = result.stdout.decode()
    assert_masked_before_seen(stdout, token)
    assert token.encode() not in result.stderr
    refused = run_cli("generate", "--export", "GITHUB_TOKEN", env=env)
    assert refused.returncode == 3 and env_file.read_text().count("<<") == 1


def test_actions_toolkit_stays_off_the_plain_cli_path(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys, xctoken.cli, xctoken.settings, xctoken.signing, xctoken.keys;"
            "print(sorted(m for m in sys.modules if m.startswith(('actions_toolkit', 'github', 'requests'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(),
                            cwd=tmp_path)
    assert result.stdout.strip() == "[]", result.stderr


def test_mask_helper_is_used_before_outputs_in_the_action_module() -> None:
    # A guard against reordering: the action must not import actions_toolkit's core (requests, PyGithub).
    source = Path(run.__code__.co_filename).read_text() + Path(github.__file__).read_text()
    assert "actions_toolkit.core" not in source
    assert os.path.basename(github.__file__) == "github.py"


def test_the_act_leak_patterns_catch_real_secrets(test_key: AscKey) -> None:
    # The workflow test can only search act's log by pattern (the token is made inside the
    # run): prove the patterns match a real token and every form of a real key.
    from xctoken import TokenRequest, load_private_key, mint_token

    from .test_workflow import LEAK_PATTERNS

    key = load_private_key(test_key.pem)
    token = mint_token(TokenRequest(key_id="SELFTEST01", issuer_id=ISSUER_ID), key).value
    assert LEAK_PATTERNS["token"].search(f"x {token} y")
    assert not LEAK_PATTERNS["token"].search(token.split(".")[0])  # the header alone is not a leak
    secrets = key.secret_strings()
    assert LEAK_PATTERNS["PKCS#8 key body"].search(secrets[0])
    assert any(LEAK_PATTERNS["SEC1 key body"].search(s) for s in secrets)
    assert LEAK_PATTERNS["base64 PEM"].search(base64.b64encode(test_key.pem.encode()).decode())


def test_image_entrypoint_never_quotes_a_key_passed_as_the_command(test_key: AscKey) -> None:
    # GitLab/Jenkins: `docker run image "$ASC_PRIVATE_KEY"` puts the key where a program belongs.
    import subprocess
    import sys

    entrypoint = Path(__file__).resolve().parents[2] / "entrypoint.py"
    sec1 = test_key.private_key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.TraditionalOpenSSL,
                                              serialization.NoEncryption()).decode()
    for value in (sec1, base64.b64encode(test_key.pem.encode()).decode(), "".join(sec1.splitlines()[1:-1])):
        result = subprocess.run([sys.executable, str(entrypoint), value], capture_output=True, text=True,
                                timeout=60, env=clean_env())
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "not shown" in result.stderr, result.stderr
        body = "".join(sec1.splitlines()[1:-1])
        assert not any(body[i:i + 16] in result.stderr for i in range(len(body) - 15))
    named = subprocess.run([sys.executable, str(entrypoint), "no-such-program"], capture_output=True, text=True,
                           timeout=60, env=clean_env())
    assert named.returncode == 2 and "'no-such-program'" in named.stderr


def test_free_text_inputs_cannot_act_as_old_style_runner_commands(step: RunnerStep, test_key: AscKey) -> None:
    # The runner also acts on the old "##[command]data" form ANYWHERE in a line that is not a
    # "::" command (actions/runner ActionCommand.TryParse): "##[stop-commands]x" in the log
    # would switch off command processing. The audience is free text printed in the summary line.
    step.inputs = team_inputs(test_key, audience="##[stop-commands]pwned")
    code, stdout = step.run()
    assert code == 0, stdout
    plain = [line for line in stdout.splitlines() if not line.lstrip().startswith("::")]
    assert plain and all("##" not in line for line in plain), plain
    assert "stop-commands" in plain[-1]  # still named, only broken up
