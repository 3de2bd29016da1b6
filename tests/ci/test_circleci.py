"""CircleCI: a shell-quoted ``export`` line appended to ``$BASH_ENV``, checked by sourcing it in bash."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import circleci
from xctoken.errors import ConfigError, OutputError

from .helpers import HOSTILE_NAMES, HOSTILE_VALUES, cli_env, fake_token, job_for, mint, verify

if TYPE_CHECKING:
    from conftest import TestKey


def sourced(bash_env: Path, name: str) -> str:
    """What a later CircleCI step sees: bash sources $BASH_ENV, then reads the variable."""
    result = subprocess.run(["bash", "-c", f'source "$1" && printf %s "${{{name}}}"', "bash", str(bash_env)],
                            capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]})
    return result.stdout


def test_detects_circleci() -> None:
    assert circleci.detect({"CIRCLECI": "true"})
    assert not circleci.detect({"CIRCLE_BUILD_NUM": "4"})


def test_appends_an_export_line(test_key: TestKey, tmp_path: Path) -> None:
    token = mint(test_key)
    bash_env = tmp_path / "bash_env"
    bash_env.write_text("export EARLIER=1\n")
    notes = circleci.export(job_for(token, "T", {"BASH_ENV": str(bash_env)}))
    assert bash_env.read_text() == f"export EARLIER=1\nexport T={token.value}\n"
    assert sourced(bash_env, "T") == token.value
    assert "does not mask" in notes[0]


def test_shell_quoting_survives_a_hostile_value(tmp_path: Path) -> None:
    value = "it's $(touch pwned) `x` \"$HOME\" \\ ; & | *"
    bash_env = tmp_path / "bash_env"
    circleci.export(job_for(fake_token(value), "T", {"BASH_ENV": str(bash_env)}))
    assert bash_env.read_text() == "export T='it'\"'\"'s $(touch pwned) `x` \"$HOME\" \\ ; & | *'\n"
    assert sourced(bash_env, "T") == value
    assert not (tmp_path / "pwned").exists()


def test_creates_bash_env_mode_0600(test_key: TestKey, tmp_path: Path) -> None:
    bash_env = tmp_path / "new_bash_env"
    circleci.export(job_for(mint(test_key), env={"BASH_ENV": str(bash_env)}))
    assert stat.S_IMODE(os.stat(bash_env).st_mode) == 0o600


def test_without_bash_env_it_refuses(test_key: TestKey) -> None:
    with pytest.raises(OutputError, match="BASH_ENV is not set"):
        circleci.export(job_for(mint(test_key), env={}))


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["CIRCLE_TOKEN", "BASH_ENV", "PATH"])
def test_hostile_names_are_refused_with_nothing_written(test_key: TestKey, tmp_path: Path, name: str) -> None:
    bash_env = tmp_path / "bash_env"
    bash_env.write_text("export KEEP=1\n")
    with pytest.raises(ConfigError):
        circleci.export(job_for(mint(test_key), name, {"BASH_ENV": str(bash_env)}))
    assert bash_env.read_text() == "export KEEP=1\n"


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_are_refused_with_nothing_written(tmp_path: Path, value: str) -> None:
    bash_env = tmp_path / "bash_env"
    with pytest.raises(OutputError):
        circleci.export(job_for(fake_token(value), env={"BASH_ENV": str(bash_env)}))
    assert not bash_env.exists()


def test_cli_on_circleci(test_key: TestKey, tmp_path: Path) -> None:
    bash_env = tmp_path / "bash_env"
    result = run_cli("generate", "--export", env=cli_env(test_key, tmp_path, CIRCLECI="true",
                                                          BASH_ENV=str(bash_env)))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    verify(sourced(bash_env, "APP_STORE_CONNECT_TOKEN"), test_key)
