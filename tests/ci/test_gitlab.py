"""GitLab: a dotenv report line, never the token in the job log."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import gitlab
from xctoken.errors import ConfigError, OutputError

from .helpers import HOSTILE_NAMES, HOSTILE_VALUES, cli_env, fake_token, job_for, mint, verify

if TYPE_CHECKING:
    from conftest import TestKey

NAME = "APP_STORE_CONNECT_TOKEN"


def test_detects_gitlab() -> None:
    assert gitlab.detect({"GITLAB_CI": "true"})
    assert not gitlab.detect({"CI": "true"})


def test_writes_one_dotenv_line_mode_0600(test_key: TestKey, tmp_path: Path) -> None:
    token = mint(test_key)
    report = tmp_path / "token.env"
    notes = gitlab.export(job_for(token, dotenv=str(report)))
    assert report.read_bytes() == f"{NAME}={token.value}\n".encode()
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600
    assert any("artifacts:reports:dotenv" in note for note in notes)
    assert not any(token.value in note for note in notes)


def test_appends_after_existing_lines_and_extra_variables(test_key: TestKey, tmp_path: Path) -> None:
    token = mint(test_key)
    report = tmp_path / "build.env"
    report.write_text("VERSION=1.2.3")  # no final newline: must not swallow our line
    gitlab.export(job_for(token, "TOKEN", dotenv=str(report), extra={"TOKEN_EXPIRES_AT": "2030-01-01T00:00:00Z"}))
    assert report.read_text() == f"VERSION=1.2.3\nTOKEN={token.value}\nTOKEN_EXPIRES_AT=2030-01-01T00:00:00Z\n"


def test_without_dotenv_it_refuses_and_prints_nothing(test_key: TestKey, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(OutputError, match="pass --dotenv FILE") as caught:
        gitlab.export(job_for(mint(test_key)))
    # The advice itself fails loudly: assign on its own line, then export (never export VAR="$(...)").
    assert "APP_STORE_CONNECT_TOKEN=$(xctoken generate) on its own line" in str(caught.value)
    assert 'export APP_STORE_CONNECT_TOKEN="$(' not in str(caught.value)
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["CI_JOB_TOKEN", "GITLAB_USER", "FF_USE_FASTZIP", "PATH"])
def test_hostile_names_are_refused_with_nothing_written(test_key: TestKey, tmp_path: Path, name: str) -> None:
    report = tmp_path / "token.env"
    report.write_text("KEEP=1\n")
    with pytest.raises(ConfigError):
        gitlab.export(job_for(mint(test_key), name, dotenv=str(report)))
    assert report.read_text() == "KEEP=1\n"


@pytest.mark.parametrize("value", [*HOSTILE_VALUES, '"quoted"', "'q'", " lead", "trail ", "in side", "a\tb"])
def test_values_gitlab_cannot_carry_are_refused(tmp_path: Path, value: str) -> None:
    report = tmp_path / "token.env"
    with pytest.raises(OutputError, match="nothing was written"):
        gitlab.export(job_for(fake_token(value), dotenv=str(report)))
    assert not report.exists()


def test_refuses_to_grow_the_report_past_5_kb(test_key: TestKey, tmp_path: Path) -> None:
    report = tmp_path / "token.env"
    filler = "".join(f"V{i}={'x' * 60}\n" for i in range(75))  # ~4.9 KB
    report.write_text(filler)
    with pytest.raises(OutputError, match="5 KB"):
        gitlab.export(job_for(mint(test_key), dotenv=str(report)))
    assert report.read_text() == filler


def test_cli_detected_gitlab_writes_the_report_and_keeps_stdout_clean(test_key: TestKey, tmp_path: Path) -> None:
    env = cli_env(test_key, tmp_path, GITLAB_CI="true")
    result = run_cli("generate", "--export", "ASC_TOKEN", "--dotenv", "token.env", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    name, value = (tmp_path / "token.env").read_text().rstrip("\n").split("=", 1)
    assert name == "ASC_TOKEN"
    verify(value, test_key)
    assert value.encode() not in result.stderr


def test_cli_detected_gitlab_without_dotenv_exits_7_and_prints_no_token(test_key: TestKey, tmp_path: Path) -> None:
    result = run_cli("generate", "--export", env=cli_env(test_key, tmp_path, GITLAB_CI="true"), cwd=tmp_path)
    assert result.returncode == 7  # cannot deliver the token: the same code on every CI
    assert result.stdout == b""
    assert b"eyJ" not in result.stderr
    assert result.stderr.startswith(b"xctoken: error: GitLab cannot mask a token made at run time")


def test_a_dotenv_path_that_is_not_a_regular_file_is_refused(test_key: TestKey, tmp_path: Path) -> None:
    # A FIFO nobody writes would block the read of the report's last byte forever.
    fifo = tmp_path / "token.env"
    os.mkfifo(fifo)
    result = run_cli("generate", "--export", "ASC_TOKEN", "--dotenv", str(fifo),
                     env=cli_env(test_key, tmp_path, GITLAB_CI="true"))
    assert result.returncode == 7
    (line,) = result.stderr.decode().splitlines()
    assert "is not a regular file" in line and result.stdout == b""
