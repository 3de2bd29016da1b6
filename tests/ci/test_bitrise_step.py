"""The Bitrise step (step.yml + bitrise/step.sh), run the way Bitrise runs it: inputs as env vars.

envman cannot be installed here: a recording stand-in named ``envman`` is put
first on PATH (helpers.install_standin). xctoken comes from this checkout's venv
(the step uses an xctoken already on PATH instead of installing one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from conftest import ISSUER_ID, ROOT

from .helpers import install_standin, recorded, verify

if TYPE_CHECKING:
    from conftest import TestKey

STEP = yaml.safe_load((ROOT / "step.yml").read_text())
SCRIPT = ROOT / STEP["toolkit"]["bash"]["entry_file"]


def run_step(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    install_standin(tmp_path / "bin", "envman")
    log = tmp_path / "envman.log"
    path = os.pathsep.join([str(tmp_path / "bin"), str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    env = {"PATH": path, "STANDIN_LOG": str(log), "TMPDIR": str(tmp_path), **inputs}
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return result, recorded(log)


def test_step_yml_declares_what_the_script_reads() -> None:
    names = [next(iter(item)) for item in STEP["inputs"]]
    assert names == ["key_id", "issuer_id", "private_key", "private_key_path", "key_type", "lifetime", "scope",
                     "variable_name"]
    script = SCRIPT.read_text()
    assert all(f"${{{name}:-" in script for name in names)
    private = next(item for item in STEP["inputs"] if "private_key" in item)
    assert private["opts"]["is_sensitive"] is True
    assert os.access(SCRIPT, os.X_OK)


def test_step_mints_and_adds_a_sensitive_variable(test_key: TestKey, tmp_path: Path) -> None:
    result, calls = run_step(tmp_path, key_id=test_key.key_id, issuer_id=ISSUER_ID, private_key=test_key.pem,
                             key_type="team", lifetime="10m", scope="GET /v1/apps\n",
                             variable_name="ASC_TOKEN", private_key_path="")
    assert result.returncode == 0, result.stderr
    [call] = calls
    assert call["argv"] == ["add", "--key", "ASC_TOKEN", "--sensitive"]
    claims = verify(str(call["stdin"]), test_key)
    assert claims["exp"] - claims["iat"] == 600  # type: ignore[operator]
    assert claims["scope"] == ["GET /v1/apps"]
    body = "".join(line for line in test_key.pem.splitlines() if not line.startswith("-----"))
    for output in (result.stdout, result.stderr):
        assert str(call["stdin"]) not in output and body[:40] not in output


def test_step_reads_a_key_file_and_fails_cleanly_without_a_key(test_key: TestKey, tmp_path: Path) -> None:
    key_file = test_key.write(tmp_path)
    result, calls = run_step(tmp_path, key_id=test_key.key_id, issuer_id=ISSUER_ID, private_key="",
                             private_key_path=str(key_file), variable_name="APP_STORE_CONNECT_TOKEN")
    assert result.returncode == 0, result.stderr
    verify(str(calls[0]["stdin"]), test_key)

    missing, none = run_step(tmp_path / "again", key_id=test_key.key_id, issuer_id=ISSUER_ID,
                             private_key_path=str(tmp_path / "nope.p8"))
    assert missing.returncode == 4, missing.stderr
    assert none == []
