"""Jenkins and no CI (``--ci none``): the token on stdout for capture, or ``--output FILE`` (0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import generic, jenkins
from xctoken.errors import OutputError

from .helpers import HOSTILE_VALUES, cli_env, fake_token, job_for, mint, verify

if TYPE_CHECKING:
    from conftest import TestKey

JENKINS = {"JENKINS_URL": "https://jenkins.example/", "BUILD_ID": "42"}


def test_detects_jenkins_only_with_both_variables() -> None:
    assert jenkins.detect(JENKINS)
    assert not jenkins.detect({"JENKINS_URL": "https://jenkins.example/"})
    assert not jenkins.detect({"BUILD_ID": "42"})


@pytest.mark.parametrize("adapter", [jenkins, generic])
def test_prints_the_token_on_stdout(adapter, test_key: TestKey, capfd: pytest.CaptureFixture[str]) -> None:
    token = mint(test_key)
    notes = adapter.export(job_for(token, env=JENKINS))
    assert capfd.readouterr().out == token.value + "\n"
    assert not any(token.value in note for note in notes)


def test_jenkins_notes_point_at_mask_passwords(test_key: TestKey, capfd: pytest.CaptureFixture[str]) -> None:
    notes = jenkins.export(job_for(mint(test_key), env=JENKINS))
    assert any("MaskPasswordsBuildWrapper" in note for note in notes)


@pytest.mark.parametrize("adapter", [jenkins, generic])
def test_output_file_is_0600_and_stdout_stays_empty(adapter, test_key: TestKey, tmp_path: Path,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    token = mint(test_key)
    path = tmp_path / "asc.jwt"
    adapter.export(job_for(token, env=JENKINS, output=str(path)))
    assert path.read_text() == token.value + "\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_are_refused(tmp_path: Path, capfd: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(OutputError):
        jenkins.export(job_for(fake_token(value), env=JENKINS, output=str(tmp_path / "t")))
    assert capfd.readouterr().out == "" and not (tmp_path / "t").exists()


def test_cli_on_jenkins_stdout_and_file(test_key: TestKey, tmp_path: Path) -> None:
    env = cli_env(test_key, tmp_path, **JENKINS)
    result = run_cli("generate", "--export", env=env)
    assert result.returncode == 0, result.stderr
    verify(result.stdout.decode(), test_key)
    assert b"MaskPasswordsBuildWrapper" in result.stderr and b"eyJ" not in result.stderr

    to_file = run_cli("generate", "--export", "--output", str(tmp_path / "asc.jwt"), env=env)
    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stdout == b""
    verify((tmp_path / "asc.jwt").read_text(), test_key)
