"""Bitrise: ``envman add --key NAME --sensitive``, the value on stdin.

envman cannot be installed here, so a recording stand-in named ``envman`` is put
first on PATH by these tests (helpers.install_standin): it records its argv and
stdin, which is exactly the interface xctoken relies on.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import bitrise
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


@pytest.fixture
def envman(tmp_path: Path) -> tuple[dict[str, str], Path]:
    install_standin(tmp_path / "bin", "envman")
    log = tmp_path / "envman.log"
    return standin_env(tmp_path / "bin", log), log


def test_detects_bitrise() -> None:
    assert bitrise.detect({"BITRISE_IO": "true"})
    assert not bitrise.detect({"BITRISE_BUILD_NUMBER": "3"})


def test_value_goes_on_stdin_never_in_argv(test_key: TestKey, envman: tuple[dict[str, str], Path]) -> None:
    env, log = envman
    token = mint(test_key)
    notes = bitrise.export(job_for(token, "ASC_TOKEN", env))
    assert recorded(log) == [{"program": "envman", "argv": ["add", "--key", "ASC_TOKEN", "--sensitive"],
                              "stdin": token.value}]
    assert "sensitive" in notes[0] and token.value not in notes[0]


def test_extra_variables_are_added_without_sensitive(test_key: TestKey, envman: tuple[dict[str, str], Path]) -> None:
    env, log = envman
    token = mint(test_key)
    bitrise.export(job_for(token, "T", env, extra={"T_EXPIRES_AT": "2030-01-01T00:00:00Z"}))
    assert [(r["argv"], r["stdin"]) for r in recorded(log)] == [
        (["add", "--key", "T", "--sensitive"], token.value),
        (["add", "--key", "T_EXPIRES_AT"], "2030-01-01T00:00:00Z"),
    ]


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["BITRISE_SOURCE_DIR", "ENVMAN_ENVSTORE_PATH", "HOME"])
def test_hostile_names_never_reach_envman(test_key: TestKey, envman: tuple[dict[str, str], Path],
                                          name: str) -> None:
    env, log = envman
    with pytest.raises(ConfigError):
        bitrise.export(job_for(mint(test_key), name, env))
    assert recorded(log) == []


@pytest.mark.parametrize("value", [*HOSTILE_VALUES, "a$HOME", "${PATH}"])
def test_values_envman_would_mangle_are_refused(envman: tuple[dict[str, str], Path], value: str) -> None:
    env, log = envman
    with pytest.raises(OutputError, match="nothing was written"):
        bitrise.export(job_for(fake_token(value), env=env))
    assert recorded(log) == []


def test_missing_envman_is_a_clear_error(test_key: TestKey, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="envman is not on PATH"):
        bitrise.export(job_for(mint(test_key), env={"PATH": str(tmp_path)}))


def test_cli_detects_bitrise_and_reports_envman_failure_without_the_token(
        test_key: TestKey, tmp_path: Path, envman: tuple[dict[str, str], Path]) -> None:
    extra, log = envman
    env = cli_env(test_key, tmp_path, BITRISE_IO="true", **extra)
    ok = run_cli("generate", "--export", env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == b""
    [call] = recorded(log)
    assert call["argv"] == ["add", "--key", "APP_STORE_CONNECT_TOKEN", "--sensitive"]
    verify(str(call["stdin"]), test_key)
    assert str(call["stdin"]).encode() not in ok.stderr

    failed = run_cli("generate", "--export", env={**env, "STANDIN_EXIT": "3"})
    assert failed.returncode == 7
    assert b"envman add --key failed with exit code 3" in failed.stderr
    assert b"eyJ" not in failed.stderr and failed.stdout == b""
