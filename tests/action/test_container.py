"""The real image, run the way the GitHub runner runs a container action, and as other CIs run it.

The Dockerfile is built unchanged except for its base image (see docker_runner.py).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ISSUER_ID
from conftest import TestKey as AscKey

from .conftest import team_inputs
from .docker_runner import RUNNER_UID, STANDIN_BASE, RunnerHost, build_image
from .runner_protocol import (
    first_appearance,
    parse_file_commands,
    parse_workflow_commands,
    verify_with_jwcrypto,
    verify_with_openssl,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="session")
def action_image(require_docker: None, request: pytest.FixtureRequest) -> str:
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[xctoken] building the action image with the base substituted: BASE_IMAGE={STANDIN_BASE} "
              "(the Dockerfile pins python:3.11-slim by digest; Docker Hub is unreachable here)")
    return build_image()


@pytest.fixture
def host() -> Iterator[RunnerHost]:
    runner_host = RunnerHost.create()
    yield runner_host
    runner_host.remove()


def test_runs_like_a_github_container_action(action_image: str, host: RunnerHost, test_key: AscKey,
                                             tmp_path: Path) -> None:
    inputs = team_inputs(test_key, **{"write-key-file": "true"})
    result = host.run_action(action_image, inputs, {"PATH": "utter-nonsense", "HOME": "/nonexistent"})
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = parse_file_commands(host.file_command("output"))
    exported = parse_file_commands(host.file_command("env"))
    token = outputs["token"]
    assert exported["APP_STORE_CONNECT_TOKEN"] == token
    claims = verify_with_jwcrypto(token, test_key.private_key.public_key())
    verify_with_openssl(token, test_key.private_key.public_key(), tmp_path)
    assert claims["iss"] == ISSUER_ID and outputs["expires-at-epoch"] == str(claims["exp"])
    # The token was masked before it could appear, and appears nowhere else.
    masks = [c for c in parse_workflow_commands(result.stdout) if c.command == "add-mask"]
    token_mask = next(c for c in masks if c.data == token)
    assert first_appearance(result.stdout, token) == token_mask.line_number
    assert token not in result.stderr and token not in host.file_command("summary")
    assert inputs["private-key"] in {c.data for c in masks}

    # Key files: reported with HOST paths under the runner's temp directory, handed to the
    # runner's user with mode 0600, and readable by that user in a later step.
    key_path = Path(outputs["private-key-path"])
    assert key_path == host.temp / "xctoken" / "private_keys" / f"AuthKey_{test_key.key_id}.p8"
    assert Path(outputs["private-keys-dir"]) == key_path.parent == Path(exported["API_PRIVATE_KEYS_DIR"])
    assert Path(outputs["api-key-json-path"]).parent == host.temp / "xctoken"
    for path in (key_path, Path(outputs["api-key-json-path"])):
        info = path.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (RUNNER_UID, 0o600)
    later_step = host.as_runner_user("cat", str(key_path))
    assert later_step.returncode == 0 and later_step.stdout == test_key.pem
    assert host.as_runner_user("python3", "-c", f"import json; json.load(open('{outputs['api-key-json-path']}'))"
                               ).returncode == 0
    assert not any(host.workspace.iterdir()), "nothing may be written into the workspace"


def _fresh_token_from_a_later_step(host: RunnerHost, key: AscKey, tmp_path: Path) -> tuple[str, dict]:
    step = host.later_step("xctoken generate")
    assert step.returncode == 0, step.stderr
    token = step.stdout.strip()
    claims = verify_with_jwcrypto(token, key.private_key.public_key())
    verify_with_openssl(token, key.private_key.public_key(), tmp_path)
    # On a runner the token is masked (on stderr, which the runner reads) before it is printed.
    assert f"::add-mask::{token}" in step.stderr
    return token, claims


def test_later_steps_mint_on_demand_on_the_host(action_image: str, host: RunnerHost, test_key: AscKey,
                                                tmp_path: Path) -> None:
    # A 70 s lifetime with the default 60 s back-dating: the step's token dies 10 s later.
    inputs = team_inputs(test_key, lifetime="70", scope="GET /v1/apps")
    result = host.run_action(action_image, inputs, {"PATH": "utter-nonsense", "HOME": "/nonexistent"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::warning" not in result.stdout, result.stdout
    step_token = parse_file_commands(host.file_command("output"))["token"]
    exported = parse_file_commands(host.file_command("env"))
    key_file = host.temp / "xctoken" / "private_keys" / f"AuthKey_{test_key.key_id}.p8"
    assert exported["ASC_PRIVATE_KEY_PATH"] == str(key_file)
    assert (exported["ASC_KEY_ID"], exported["ASC_ISSUER_ID"]) == (test_key.key_id, ISSUER_ID)
    assert host.file_command("path").strip() == str(host.temp / "xctoken" / "bin")
    info = key_file.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (RUNNER_UID, 0o600)
    assert host.later_step(f"test -r {key_file} && cat {key_file} >/dev/null").returncode == 0

    token, claims = _fresh_token_from_a_later_step(host, test_key, tmp_path)
    assert claims["scope"] == ["GET /v1/apps"] and claims["exp"] - claims["iat"] == 70
    assert claims["iss"] == ISSUER_ID

    # Once, for real: wait until the step's token has expired; a later step still gets a valid one.
    step_exp = int(json.loads(base64.urlsafe_b64decode(step_token.split(".")[1] + "=="))["exp"])
    time.sleep(max(0.0, step_exp - time.time() + 1.5))
    assert time.time() > step_exp
    fresh, fresh_claims = _fresh_token_from_a_later_step(host, test_key, tmp_path)
    assert fresh != token and fresh_claims["iat"] <= time.time() < fresh_claims["exp"]
    assert not any(host.workspace.iterdir()), "nothing may be written into the workspace"


def test_mint_on_demand_false_leaves_nothing_for_later_steps(action_image: str, host: RunnerHost,
                                                             test_key: AscKey) -> None:
    result = host.run_action(action_image, team_inputs(test_key, **{"mint-on-demand": "false"}))
    assert result.returncode == 0, result.stdout + result.stderr
    assert host.file_command("path") == ""
    assert list(parse_file_commands(host.file_command("env"))) == ["APP_STORE_CONNECT_TOKEN"]
    assert not (host.temp / "xctoken").exists()
    assert host.later_step("command -v xctoken").returncode != 0


@pytest.mark.parametrize("temp_mode", [0o755, 0o777])
def test_without_capabilities_the_action_fails_cleanly_and_leaves_nothing(action_image: str, host: RunnerHost,
                                                                         test_key: AscKey, temp_mode: int) -> None:
    """--cap-drop ALL (a hardened runner): root cannot write in, or hand files to, the runner's user.

    With a world-writable RUNNER_TEMP the directory can be made but not handed over; it must not
    stay behind, root-owned, to break a later run as the runner's user (the portable action)."""
    host.temp.chmod(temp_mode)
    result = host.run_action(action_image, team_inputs(test_key), docker_args=("--cap-drop", "ALL"))
    assert result.returncode == 7, result.stdout[-1500:]
    errors = [c for c in parse_workflow_commands(result.stdout) if c.command == "error"]
    assert len(errors) == 1 and "mint-on-demand: false" in errors[0].data
    assert all(host.file_command(n) == "" for n in ("output", "env", "summary", "path"))
    assert not (host.temp / "xctoken").exists()
    # and the same job can still use the action without key files
    plain = host.run_action(action_image, team_inputs(test_key, **{"mint-on-demand": "false"}),
                            docker_args=("--cap-drop", "ALL"))
    assert plain.returncode == 0, plain.stdout[-1500:]


def test_errors_leave_no_record(action_image: str, host: RunnerHost, test_key: AscKey) -> None:
    inputs = team_inputs(test_key, **{"private-key": base64.b64encode(b"not a key").decode(),
                                      "write-key-file": "true"})
    result = host.run_action(action_image, inputs)
    assert result.returncode == 4
    errors = [c for c in parse_workflow_commands(result.stdout) if c.command == "error"]
    assert len(errors) == 1 and "private key" in errors[0].data
    assert all(host.file_command(n) == "" for n in ("output", "env", "summary"))
    assert not (host.temp / "xctoken").exists()


def test_cli_as_an_arbitrary_uid_without_home(action_image: str, test_key: AscKey, tmp_path: Path) -> None:
    # Jenkins' docker agent: `docker run -u <uid>:<gid>` and no HOME.
    env = {"PATH": os.environ["PATH"], "ASC_PRIVATE_KEY": test_key.pem}
    result = subprocess.run(
        ["docker", "run", "--rm", "-u", "4321:4321", "-e", "ASC_PRIVATE_KEY", "-e", "HOME=/nonexistent",
         action_image, "xctoken", "generate", "--key-id", test_key.key_id, "--issuer-id", ISSUER_ID],
        env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    verify_with_jwcrypto(token, test_key.private_key.public_key())
    verify_with_openssl(token, test_key.private_key.public_key(), tmp_path)


@pytest.mark.parametrize("argv", [["check", "--help"], ["xctoken", "--version"]])
def test_cli_subcommands_run_in_process(action_image: str, argv: list[str]) -> None:
    result = subprocess.run(["docker", "run", "--rm", "-e", "PATH=utter-nonsense", action_image, *argv],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "xctoken" in result.stdout


def test_executables_are_exec_ed(action_image: str) -> None:
    # GitLab: `sh -c "<script>"`; Jenkins: `cat` kept alive on stdin. PATH may be nonsense.
    shell = subprocess.run(["docker", "run", "--rm", "-e", "PATH=utter-nonsense", action_image,
                            "sh", "-c", "echo marker-$$ pid"], capture_output=True, text=True, timeout=120)
    assert shell.returncode == 0 and shell.stdout.strip() == "marker-1 pid"  # sh replaced the entrypoint (PID 1)
    cat = subprocess.run(["docker", "run", "--rm", "-i", "-u", "4321", action_image, "cat"],
                         input="through cat\n", capture_output=True, text=True, timeout=120)
    assert cat.returncode == 0 and cat.stdout == "through cat\n"
    unknown = subprocess.run(["docker", "run", "--rm", action_image, "no-such-program"],
                             capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "neither an xctoken command" in unknown.stderr


def test_image_stays_within_its_size_budget(action_image: str) -> None:
    def size(image: str) -> int:
        out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image], capture_output=True,
                             text=True, check=True)
        return int(out.stdout)

    growth = size(action_image) - size(STANDIN_BASE)
    assert growth < 30 * 1024 * 1024, f"the image adds {growth / 2**20:.1f} MiB to its base (budget 30 MiB)"

