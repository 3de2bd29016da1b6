"""Buildkite: ``buildkite-agent redactor add`` (stdin), ``env set`` (stdin) where the Job API is, then stdout.

buildkite-agent cannot be installed here, so a recording stand-in named
``buildkite-agent`` is put first on PATH by these tests (helpers.install_standin):
it records argv and stdin, the whole interface xctoken uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import buildkite
from xctoken.errors import ConfigError, OutputError

from .helpers import (
    HOSTILE_NAMES,
    HOSTILE_VALUES,
    cli_env,
    fake_token,
    install_standin,
    job_for,
    mint,
    recorded,
    standin_env,
    verify,
)

if TYPE_CHECKING:
    from conftest import TestKey

REDACT = ["redactor", "add", "--format", "none"]
ENV_SET = ["env", "set", "--input-format=json", "--output-format=quiet", "-"]


@pytest.fixture
def agent(tmp_path: Path) -> tuple[dict[str, str], Path]:
    install_standin(tmp_path / "bin", "buildkite-agent")
    log = tmp_path / "agent.log"
    return standin_env(tmp_path / "bin", log), log


def test_detects_buildkite() -> None:
    assert buildkite.detect({"BUILDKITE": "true"})
    assert not buildkite.detect({"BUILDKITE_BUILD_ID": "x"})


def test_redacts_then_prints(test_key: TestKey, agent: tuple[dict[str, str], Path],
                             capfd: pytest.CaptureFixture[str]) -> None:
    env, log = agent
    token = mint(test_key)
    buildkite.export(job_for(token, "T", env))
    assert recorded(log) == [{"program": "buildkite-agent", "argv": REDACT, "stdin": token.value}]
    assert capfd.readouterr().out == token.value + "\n"


def test_with_the_job_api_it_also_sets_the_job_env(test_key: TestKey, agent: tuple[dict[str, str], Path],
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    env, log = agent
    env["BUILDKITE_AGENT_JOB_API_SOCKET"] = "/tmp/job-api.sock"
    token = mint(test_key)
    notes = buildkite.export(job_for(token, "T", env, extra={"T_EXPIRES_AT": "2030-01-01T00:00:00Z"}))
    calls = recorded(log)
    assert [c["argv"] for c in calls] == [REDACT, ENV_SET]  # redacted before anything else
    assert calls[0]["stdin"] == token.value
    assert calls[1]["stdin"] == json.dumps({"T": token.value, "T_EXPIRES_AT": "2030-01-01T00:00:00Z"}) + "\n"
    assert all(token.value not in arg for c in calls for arg in c["argv"])
    assert capfd.readouterr().out == token.value + "\n"
    assert any("later phases" in note for note in notes)


def test_missing_agent_is_a_clear_error_and_prints_nothing(test_key: TestKey, tmp_path: Path,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(OutputError, match="buildkite-agent is not on PATH.*mount-buildkite-agent: true"):
        buildkite.export(job_for(mint(test_key), env={"PATH": str(tmp_path)}))
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["BUILDKITE_COMMAND", "buildkite_agent_access_token", "PATH"])
def test_hostile_names_never_reach_the_agent(test_key: TestKey, agent: tuple[dict[str, str], Path],
                                             capfd: pytest.CaptureFixture[str], name: str) -> None:
    env, log = agent
    with pytest.raises(ConfigError):
        buildkite.export(job_for(mint(test_key), name, env))
    assert recorded(log) == [] and capfd.readouterr().out == ""


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_are_refused(agent: tuple[dict[str, str], Path], capfd: pytest.CaptureFixture[str],
                                    value: str) -> None:
    env, log = agent
    with pytest.raises(OutputError):
        buildkite.export(job_for(fake_token(value), env=env))
    assert recorded(log) == [] and capfd.readouterr().out == ""


def test_cli_stops_when_redaction_fails(test_key: TestKey, tmp_path: Path,
                                        agent: tuple[dict[str, str], Path]) -> None:
    extra, log = agent
    env = cli_env(test_key, tmp_path, BUILDKITE="true", **extra)
    ok = run_cli("generate", "--export", env=env)
    assert ok.returncode == 0, ok.stderr
    verify(ok.stdout.decode(), test_key)
    assert recorded(log)[0]["stdin"] == ok.stdout.decode().strip()

    failed = run_cli("generate", "--export", env={**env, "STANDIN_EXIT": "1"})
    assert failed.returncode == 7
    assert failed.stdout == b""  # never printed unredacted
    assert b"buildkite-agent redactor add failed with exit code 1" in failed.stderr
