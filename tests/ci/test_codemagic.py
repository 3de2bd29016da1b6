"""Codemagic: a heredoc record with a random delimiter appended to ``$CM_ENV``."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_cli

from xctoken.ci import codemagic
from xctoken.errors import ConfigError, OutputError

from .helpers import HOSTILE_NAMES, HOSTILE_VALUES, cli_env, fake_token, job_for, mint, verify

if TYPE_CHECKING:
    from conftest import TestKey

RECORD = re.compile(r"(?P<name>\w+)<<(?P<delim>XCTOKEN_EOF_[0-9a-f]{32})\n(?P<value>[^\n]*)\n(?P=delim)\n")


def test_detects_codemagic() -> None:
    assert codemagic.detect({"CM_BUILD_ID": "64a1"})
    assert not codemagic.detect({"CI": "true"})


def test_record_format() -> None:
    assert codemagic.heredoc_record("T", "v.a-l_ue", "EOF_1") == "T<<EOF_1\nv.a-l_ue\nEOF_1\n"


def test_appends_a_heredoc_record_with_a_fresh_random_delimiter(test_key: TestKey, tmp_path: Path) -> None:
    cm_env = tmp_path / "cm_env"
    cm_env.write_text("EARLIER=1\n")
    first, second = mint(test_key), mint(test_key)
    codemagic.export(job_for(first, "T", {"CM_ENV": str(cm_env)}))
    codemagic.export(job_for(second, "T", {"CM_ENV": str(cm_env)}))
    text = cm_env.read_text()
    assert text.startswith("EARLIER=1\n")
    records = list(RECORD.finditer(text))
    assert "".join(m.group(0) for m in records) == text.removeprefix("EARLIER=1\n")
    assert [(m["name"], m["value"]) for m in records] == [("T", first.value), ("T", second.value)]
    assert records[0]["delim"] != records[1]["delim"]


def test_creates_cm_env_mode_0600(test_key: TestKey, tmp_path: Path) -> None:
    cm_env = tmp_path / "cm_env"
    codemagic.export(job_for(mint(test_key), env={"CM_ENV": str(cm_env)}))
    assert stat.S_IMODE(os.stat(cm_env).st_mode) == 0o600


def test_a_value_holding_the_delimiter_is_refused() -> None:
    with pytest.raises(OutputError, match="delimiter"):
        codemagic.heredoc_record("T", "xEOF_1x", "EOF_1")


def test_without_cm_env_it_refuses(test_key: TestKey) -> None:
    with pytest.raises(OutputError, match="CM_ENV is not set"):
        codemagic.export(job_for(mint(test_key), env={}))


@pytest.mark.parametrize("name", HOSTILE_NAMES + ["CM_BUILD_DIR", "FCI_BUILD_ID", "HOME"])
def test_hostile_names_are_refused_with_nothing_written(test_key: TestKey, tmp_path: Path, name: str) -> None:
    cm_env = tmp_path / "cm_env"
    cm_env.write_text("KEEP=1\n")
    with pytest.raises(ConfigError):
        codemagic.export(job_for(mint(test_key), name, {"CM_ENV": str(cm_env)}))
    assert cm_env.read_text() == "KEEP=1\n"


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_values_are_refused_with_nothing_written(tmp_path: Path, value: str) -> None:
    cm_env = tmp_path / "cm_env"
    with pytest.raises(OutputError):
        codemagic.export(job_for(fake_token(value), env={"CM_ENV": str(cm_env)}))
    assert not cm_env.exists()


def test_cli_on_codemagic(test_key: TestKey, tmp_path: Path) -> None:
    cm_env = tmp_path / "cm_env"
    result = run_cli("generate", "--export", env=cli_env(test_key, tmp_path, CM_BUILD_ID="1", CM_ENV=str(cm_env)))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    [record] = RECORD.finditer(cm_env.read_text())
    assert record["name"] == "APP_STORE_CONNECT_TOKEN"
    verify(record["value"], test_key)
