"""Azure Pipelines: ``##vso[task.setvariable ...;issecret=true]`` and ``##vso[task.setsecret]`` on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import azure
from xctoken.errors import ConfigError, OutputError

from .helpers import HOSTILE_NAMES, HOSTILE_VALUES, cli_env, fake_token, job_for, mint, verify

if TYPE_CHECKING:
    from conftest import TestKey


def test_detects_azure() -> None:
    assert azure.detect({"TF_BUILD": "True"})
    assert not azure.detect({"TF_BUILD": "False"})


def test_property_escaping_matches_the_task_lib() -> None:
    assert azure.escape_property("a;b]c%d\r\ne") == "a%3Bb%5Dc%AZP25d%0D%0Ae"


def test_sets_one_secret_variable(test_key: TestKey, capfd: pytest.CaptureFixture[str]) -> None:
    token = mint(test_key)
    notes = azure.export(job_for(token, "ASC_TOKEN", {}))
    out, err = capfd.readouterr()
    assert out == f"##vso[task.setvariable variable=ASC_TOKEN;issecret=true]{token.value}\n"
    assert err == ""
    assert "env: ASC_TOKEN: $(ASC_TOKEN)" in notes[0]


def test_on_an_agent_the_key_lines_are_masked_first(test_key: TestKey, capfd: pytest.CaptureFixture[str]) -> None:
    token = mint(test_key)
    azure.export(job_for(token, "ASC_TOKEN", {"TF_BUILD": "True"}, test_key,
                         extra={"ASC_TOKEN_EXPIRES_AT": "2030-01-01T00:00:00Z"}))
    lines = capfd.readouterr().out.split("\n")
    assert lines[-1] == ""
    masks = [line.removeprefix("##vso[task.setsecret]") for line in lines if line.startswith("##vso[task.setsecret]")]
    # Every base64 line of the PEM file, and the whole body on one line, is masked.
    body = [line for line in test_key.pem.splitlines() if not line.startswith("-----")]
    assert set(body) <= set(masks) and "".join(body) in masks
    assert lines[len(masks):-1] == [
        f"##vso[task.setvariable variable=ASC_TOKEN;issecret=true]{token.value}",
        "##vso[task.setvariable variable=ASC_TOKEN_EXPIRES_AT]2030-01-01T00:00:00Z",
    ]


def test_off_an_agent_no_key_material_is_printed(test_key: TestKey, capfd: pytest.CaptureFixture[str]) -> None:
    azure.export(job_for(mint(test_key), env={}, test_key=test_key))
    out = capfd.readouterr().out
    assert "setsecret" not in out and out.count("\n") == 1


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["SYSTEM_ACCESSTOKEN", "build_sourcesdirectory", "agent_temp"])
def test_hostile_names_are_refused_with_nothing_printed(test_key: TestKey, capfd: pytest.CaptureFixture[str],
                                                        name: str) -> None:
    with pytest.raises(ConfigError):
        azure.export(job_for(mint(test_key), name, {"TF_BUILD": "True"}, test_key))
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("value", [*HOSTILE_VALUES, "a%0Ab", "100%"])
def test_values_azure_cannot_carry_are_refused(capfd: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(OutputError, match="nothing was written"):
        azure.export(job_for(fake_token(value), env={}))
    assert capfd.readouterr().out == ""


def test_cli_on_azure(test_key: TestKey, tmp_path: Path) -> None:
    result = run_cli("generate", "--export", env=cli_env(test_key, tmp_path, TF_BUILD="True"))
    assert result.returncode == 0, result.stderr
    *masks, record, end = result.stdout.decode().split("\n")
    assert end == "" and masks and all(m.startswith("##vso[task.setsecret]") for m in masks)
    prefix = "##vso[task.setvariable variable=APP_STORE_CONNECT_TOKEN;issecret=true]"
    assert record.startswith(prefix)
    verify(record.removeprefix(prefix), test_key)
    assert b"eyJ" not in result.stderr
