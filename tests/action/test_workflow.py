"""The self-test workflow (.github/workflows/selftest.yml) run by a real runner: act.

act runs the job in the stand-in runner image; `uses: ./` builds the real
Dockerfile (in a throwaway copy of the repository whose BASE_IMAGE default is the
local stand-in: Docker Hub is unreachable here) and `uses: ./portable` installs the
pinned lock into a venv. The workflow's own later steps verify the token (openssl)
and the key files; this test asserts from act's output that every step passed and
that no token or key material ever appeared unmasked.
"""

from __future__ import annotations

import fcntl
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, copy_checkout

from .docker_runner import STANDIN_BASE

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ACT = ROOT / ".ci" / "tools" / "bin" / "act"
RUNNER_IMAGE = re.search(r"^RUNNER_IMAGE=(\S+)", (ROOT / ".ci" / "provision.sh").read_text(),
                         re.M).group(1)  # type: ignore[union-attr]  # as .ci/provision.sh builds it
# Any of these in the log is a leak: a whole ES256 token (header segment, dot, payload),
# a P-256 PKCS#8 (either layout) or SEC1 key body, or the base64 of a PEM file.
LEAK_PATTERNS = {
    "token": re.compile(r"eyJhbGciOiJFUzI1NiIs[A-Za-z0-9_-]*\.eyJ"),
    "PKCS#8 key body": re.compile(r"MIG[HT]AgEAMBMGByqGSM49"),  # cryptography's layout, Apple's
    "SEC1 key body": re.compile(r"MHcCAQEEI"),
    "base64 PEM": re.compile(r"LS0tLS1CRUdJTi"),
}


@pytest.fixture(scope="module")
def repo_copy(require_docker: None, tmp_path_factory: pytest.TempPathFactory,
              request: pytest.FixtureRequest) -> Path:
    if not ACT.exists():
        pytest.fail(f"{ACT} is missing: run `bash .ci/provision.sh`")
    if subprocess.run(["docker", "image", "inspect", RUNNER_IMAGE], capture_output=True).returncode != 0:
        pytest.fail(f"{RUNNER_IMAGE} is missing: run `bash .ci/provision.sh`")
    def standin_base(copy: Path) -> None:
        dockerfile = copy / "Dockerfile"
        text, count = re.subn(r"^ARG BASE_IMAGE=.*$", f"ARG BASE_IMAGE={STANDIN_BASE}", dockerfile.read_text(),
                              flags=re.M)
        assert count == 1
        dockerfile.write_text(text)

    copy = copy_checkout(tmp_path_factory.mktemp("act-repo"), standin_base, "act run")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[xctoken] act runs a copy of the repository whose Dockerfile base is substituted: "
              f"BASE_IMAGE={STANDIN_BASE}")
    return copy


@pytest.fixture
def act_lock() -> Iterator[None]:
    # act tags every action image act-dockeraction:latest: concurrent runs would clash.
    with open("/tmp/xctoken-act.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def run_act(repo: Path, *args: str) -> tuple[int, str]:
    result = subprocess.run(
        [str(ACT), "push", "-W", ".github/workflows/selftest.yml", "-P", f"ubuntu-latest={RUNNER_IMAGE}",
         "--pull=false", "--rm", *args],
        cwd=repo, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


def assert_no_leak(log: str) -> None:
    for what, pattern in LEAK_PATTERNS.items():
        match = pattern.search(log)
        assert match is None, f"act's log shows a {what} in clear"


def assert_checks_passed(log: str) -> None:
    assert "SELFTEST-CHECKS-PASSED" in log
    assert "PRINTED-TOKEN=***" in log  # printed on purpose, shown masked
    assert re.search(r"token header segment: eyJhbGciOiJFUzI1NiIs\S+", log), "step output is not in the log"
    assert "🏁  Job succeeded" in log


def test_container_action_under_act(repo_copy: Path, act_lock: None) -> None:
    code, log = run_act(repo_copy, "-j", "container")
    assert code == 0, log[-6000:]
    assert "✅  Success - Main Sign with the container action (PATH and HOME set to nonsense)" in log
    assert_checks_passed(log)
    # The bad input: one escaped error annotation, a failed step, no output left behind.
    assert "::error title=xctoken::the private key" in log
    assert "SELFTEST-BAD-INPUT-REFUSED" in log
    assert "::set-output:: token=***" in log and "::set-env:: APP_STORE_CONNECT_TOKEN=***" in log
    assert_no_leak(log)


def test_portable_action_under_act(repo_copy: Path, act_lock: None) -> None:
    code, log = run_act(repo_copy, "-j", "portable", "--matrix", "os:ubuntu-latest")
    assert code == 0, log[-6000:]
    assert "✅  Success - Main Sign with the portable action" in log
    assert "installing the pinned dependencies" in log
    assert_checks_passed(log)
    assert "key files: AuthKey_SELFTEST01.p8 and api_key_SELFTEST01.json (0600, outside the workspace)" in log
    # Later steps mint on demand, also once the first token has expired.
    assert "SELFTEST-ON-DEMAND-PASSED" in log and "SELFTEST-AFTER-EXPIRY-PASSED" in log
    assert "on demand: a later step minted a fresh token, valid 1200 s" in log
    assert "on demand: a later step minted a fresh token, valid 70 s" in log
    assert_no_leak(log)


def test_portable_action_with_mint_on_demand_false_under_act(repo_copy: Path, act_lock: None) -> None:
    code, log = run_act(repo_copy, "-j", "portable-one-token")
    assert code == 0, log[-6000:]
    assert "SELFTEST-ONE-TOKEN-PASSED" in log and "🏁  Job succeeded" in log
    assert_no_leak(log)
