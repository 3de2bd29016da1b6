"""No network during token generation, and no networking client even loaded.

The proof is running the tool in a network namespace with no interface at
all (``unshare -n``: not even loopback is up) and seeing it succeed. The
module check says more: neither the CLI nor the action imports ``socket``,
``ssl``, ``http.client``, ``urllib.request``, ``requests`` or ``urllib3`` on the
way to a token, so no telemetry or update check could hide in a dependency.
(``urllib.parse`` is loaded, by the standard library's own helpers; it parses
strings and opens nothing.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import Workspace, action_available, action_command
from .leaks import Canary

NETWORK_MODULES = ("socket", "ssl", "http.client", "urllib.request", "requests", "urllib3", "aiohttp",
                   "httpx")


def _unshare() -> list[str]:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to make a network namespace")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -n is not permitted here: {probe.stderr.decode().strip()}")
    return ["unshare", "-n"]


def test_the_namespace_really_has_no_network() -> None:
    # Without this, the next tests would prove nothing.
    result = subprocess.run([*_unshare(), sys.executable, "-c",
                             "import socket; socket.create_connection(('127.0.0.1', 9), 1)"],
                            capture_output=True)
    assert result.returncode != 0
    assert b"unreachable" in result.stderr or b"refused" not in result.stderr


def _env(ws: Workspace, canary: Canary, **extra: str) -> dict[str, str | bytes]:
    return ws.base_env(ASC_PRIVATE_KEY=canary.pem(), ASC_KEY_ID=GOOD_KEY_ID, ASC_ISSUER_ID=GOOD_ISSUER,
                       **extra)


@pytest.mark.parametrize("mode", ["stdout", "github-export"])
def test_generate_works_with_no_network_at_all(tmp_path, mode: str) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    extra = {"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(ws.github_env)} if mode != "stdout" else {}
    args = ["--export", "TOKEN"] if mode != "stdout" else []
    capture = ws.run([*_unshare(), sys.executable, "-m", "xctoken", "generate", *args],
                     _env(ws, canary, **extra))
    assert capture.returncode == 0, capture.stderr
    assert len(capture.tokens(canary)) == 1


def test_the_action_works_with_no_network_at_all(tmp_path) -> None:
    if not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")
    canary, ws = Canary.new(), Workspace(tmp_path)
    env = ws.base_env(**{"GITHUB_ACTIONS": "true", "INPUT_PRIVATE-KEY": canary.pem(), "INPUT_KEY-ID": GOOD_KEY_ID,
                         "INPUT_ISSUER-ID": GOOD_ISSUER, "GITHUB_OUTPUT": str(ws.github_output),
                         "GITHUB_ENV": str(ws.github_env), "RUNNER_TEMP": str(ws.runner_temp),
                         "GITHUB_PATH": str(ws.github_path)})
    capture = ws.run([*_unshare(), *action_command()], env)
    assert capture.returncode == 0, capture.stdout[-400:]
    assert len(capture.tokens(canary)) == 1


_MODULES_AFTER = """
import json, runpy, sys
sys.argv = {argv!r}
try:
    {call}
except SystemExit:
    pass
sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _modules_loaded(ws: Workspace, canary: Canary, argv: list[str], call: str, env: dict) -> set[str]:
    code = _MODULES_AFTER.format(argv=argv, call=call)
    capture = ws.run([sys.executable, "-c", code], env)
    line = next(x for x in capture.stderr.decode().split("\n") if x.startswith("MODULES "))
    return set(json.loads(line[len("MODULES "):]))


@pytest.mark.parametrize("mode", ["stdout", "github-export", "action"])
def test_no_networking_module_is_loaded_on_the_way_to_a_token(tmp_path, mode: str) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    if mode == "action":
        if not action_available():
            pytest.skip("the GitHub action (xctoken.action) does not exist yet")
        env = ws.base_env(**{"GITHUB_ACTIONS": "true", "INPUT_PRIVATE-KEY": canary.pem(), "INPUT_KEY-ID": GOOD_KEY_ID,
                             "INPUT_ISSUER-ID": GOOD_ISSUER, "GITHUB_OUTPUT": str(ws.github_output),
                             "GITHUB_ENV": str(ws.github_env), "RUNNER_TEMP": str(ws.runner_temp),
                         "GITHUB_PATH": str(ws.github_path)})
        loaded = _modules_loaded(ws, canary, ["action"], "from xctoken.action import main; main()", env)
    else:
        extra = {"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(ws.github_env)} if mode != "stdout" else {}
        argv = ["xctoken", "generate", *(["--export", "TOKEN"] if mode != "stdout" else [])]
        loaded = _modules_loaded(ws, canary, argv, "runpy.run_module('xctoken', run_name='__main__')",
                                 _env(ws, canary, **extra))
    assert "xctoken.signing" in loaded  # it did sign
    assert sorted(m for m in NETWORK_MODULES if m in loaded) == []
