"""What ``xctoken generate`` imports on its way to a token: a listed set, so start time cannot creep.

A test of modules, not of time: every module here is one the plain CLI pays
for on every call. The service profiles, the doctor (urllib, ssl), the CI
adapters, PyJWT and the cache are imported only by the commands that use them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ISSUER_ID, ROOT, TestKey

GENERATE_PATH = {"xctoken", "xctoken.claims", "xctoken.cli", "xctoken.console", "xctoken.errors", "xctoken.files",
                 "xctoken.keys", "xctoken.settings", "xctoken.signing"}
NEVER_ON_THE_WAY = ("jwt", "ssl", "urllib.request", "http.client", "xctoken.services", "xctoken.doctor",
                    "xctoken.ci", "xctoken.cache", "xctoken.auth", "xctoken.inspection")

PROBE = """
import contextlib, io, json, sys
from xctoken.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded(*args: str, env: dict[str, str]) -> tuple[int, set[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], env={**env, "PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True, timeout=60)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["code"], set(data["modules"])


def test_generate_imports_only_what_a_token_needs(test_key: TestKey, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "ASC_KEY_ID": test_key.key_id, "ASC_ISSUER_ID": ISSUER_ID,
           "ASC_PRIVATE_KEY_PATH": str(test_key.write(tmp_path))}
    code, modules = loaded("generate", env=env)
    assert code == 0
    assert {m for m in modules if m.split(".")[0] == "xctoken"} == GENERATE_PATH
    assert not [m for m in modules if m in NEVER_ON_THE_WAY or m.startswith(tuple(n + "." for n in NEVER_ON_THE_WAY))]


def test_a_service_token_adds_only_the_profiles(test_key: TestKey, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "ASC_KEY_ID": test_key.key_id,
           "ASC_PRIVATE_KEY_PATH": str(test_key.write(tmp_path))}
    code, modules = loaded("generate", "--service", "apns", "--team-id", "DEF123GHIJ", env=env)
    assert code == 0
    added = {m for m in modules if m.split(".")[0] == "xctoken"} - GENERATE_PATH
    assert added == {"xctoken.services", "xctoken.services.apns"}
    assert "ssl" not in modules and "urllib.request" not in modules
