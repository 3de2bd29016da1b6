"""The README's first command, scripts/demo.sh, whose Python side is scripts/demo.py.

The venv part (scripts/demo.sh) is what a fresh clone runs in CI; here the demo itself runs
in the test venv, in the environment of a user who already exported real credentials.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_the_demo_ignores_credentials_and_ci_markers_already_in_the_environment(tmp_path) -> None:
    stale = tmp_path / "AuthKey_ZZZZZZZZZZ.p8"
    stale.write_text("not a key")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ASC_KEY_ID": "ZZZZZZZZZZ",
           "ASC_ISSUER_ID": "00000000-0000-0000-0000-000000000000", "ASC_PRIVATE_KEY_PATH": str(stale),
           "APP_STORE_CONNECT_API_KEY_KEY_ID": "ZZZZZZZZZZ", "XCTOKEN_SERVICE": "apns", "GITHUB_ACTIONS": "true"}
    result = subprocess.run([sys.executable, "-I", str(ROOT / "scripts" / "demo.py")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "result: valid" in result.stdout and "signature verifies" in result.stdout
    assert "Traceback" not in result.stderr
    assert stale.read_text() == "not a key"
