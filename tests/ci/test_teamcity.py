"""TeamCity: ``##teamcity[setParameter name='env.NAME' value='...']`` with TeamCity's escaping."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import teamcity
from xctoken.errors import ConfigError, OutputError

from .helpers import HOSTILE_NAMES, HOSTILE_VALUES, cli_env, fake_token, job_for, mint, verify

if TYPE_CHECKING:
    from conftest import TestKey


def test_detects_teamcity() -> None:
    assert teamcity.detect({"TEAMCITY_VERSION": "2024.03 (build 156364)"})
    assert not teamcity.detect({"BUILD_NUMBER": "3"})


def test_escaping() -> None:
    assert teamcity.escape("a|b'c[d]e\nf\rg\u0085h\u2028i\u2029j") == "a||b|'c|[d|]e|nf|rg|xh|li|pj"
    assert teamcity.escape("é☃") == "|0x00e9|0x2603"


def test_sets_an_env_parameter(test_key: TestKey, capfd: pytest.CaptureFixture[str]) -> None:
    token = mint(test_key)
    teamcity.export(job_for(token, "ASC_TOKEN", {}, extra={"ASC_TOKEN_EXPIRES_AT": "2030-01-01T00:00:00Z"}))
    out, err = capfd.readouterr()
    assert out == (f"##teamcity[setParameter name='env.ASC_TOKEN' value='{token.value}']\n"
                   "##teamcity[setParameter name='env.ASC_TOKEN_EXPIRES_AT' value='2030-01-01T00:00:00Z']\n")
    assert err == ""


def test_value_quotes_and_brackets_are_escaped(capfd: pytest.CaptureFixture[str]) -> None:
    teamcity.export(job_for(fake_token("x' name='y']"), "T", {}))
    assert capfd.readouterr().out == "##teamcity[setParameter name='env.T' value='x|' name=|'y|'|]']\n"


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["TEAMCITY_VERSION", "BUILD_NUMBER", "PATH"])
def test_hostile_names_are_refused_with_nothing_printed(test_key: TestKey, capfd: pytest.CaptureFixture[str],
                                                        name: str) -> None:
    with pytest.raises(ConfigError):
        teamcity.export(job_for(mint(test_key), name, {}))
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_are_refused(capfd: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(OutputError):
        teamcity.export(job_for(fake_token(value), env={}))
    assert capfd.readouterr().out == ""


def test_cli_on_teamcity(test_key: TestKey, tmp_path: Path) -> None:
    result = run_cli("generate", "--export", env=cli_env(test_key, tmp_path, TEAMCITY_VERSION="2024.03"))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    prefix, suffix = "##teamcity[setParameter name='env.APP_STORE_CONNECT_TOKEN' value='", "']\n"
    assert out.startswith(prefix) and out.endswith(suffix)
    verify(out[len(prefix):-len(suffix)], test_key)
