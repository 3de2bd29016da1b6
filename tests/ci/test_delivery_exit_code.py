"""One exit code for "cannot deliver the token", whichever CI xctoken runs on.

A job that greps for a kind of failure (or a wrapper that retries only delivery failures)
must see the same code for the same kind of failure on every CI: GitLab without
``--dotenv``, CircleCI without ``$BASH_ENV`` and Bitrise without envman are all the token
having nowhere to go, which errors.py documents as OutputError, exit 7. Each adapter's
"cannot deliver here" path is run through the CLI, as a job would meet it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TestKey

from xctoken.ci import ADAPTERS
from xctoken.errors import OutputError

from .helpers import cli_env

# Closing stdout first (`>&-`): the adapters that print the token (or a logging command) then
# have nowhere to write it.
STDOUT_CLOSED = ["sh", "-c", 'exec "$@" >&-', "sh"]

Case = tuple[str, dict[str, str], list[str], bool]
# adapter: (what the job lacks, extra environment, extra arguments, run with stdout closed)
CASES: dict[str, Case] = {
    "github": ("GITHUB_ACTIONS=true (--ci github off a runner)", {}, ["--ci", "github"], False),
    "gitlab": ("--dotenv", {"GITLAB_CI": "true"}, [], False),
    "bitrise": ("envman on PATH", {"BITRISE_IO": "true"}, [], False),
    "azure": ("a standard output", {"TF_BUILD": "True"}, [], True),
    "buildkite": ("buildkite-agent on PATH", {"BUILDKITE": "true"}, [], False),
    "circleci": ("$BASH_ENV", {"CIRCLECI": "true"}, [], False),
    "codemagic": ("$CM_ENV", {"CM_BUILD_ID": "1"}, [], False),
    "teamcity": ("a standard output", {"TEAMCITY_VERSION": "2024.03"}, [], True),
    "jenkins": ("a standard output", {"JENKINS_URL": "https://jenkins.example.com/", "BUILD_ID": "7"}, [], True),
    "none": ("a standard output", {}, ["--ci", "none"], True),
}
# Without GITHUB_ENV on a runner: the file the runner reads the variable from.
GITHUB_WITHOUT_ENV_FILE: Case = ("$GITHUB_ENV", {"GITHUB_ACTIONS": "true"}, [], False)


def test_every_adapter_has_a_case() -> None:
    assert set(CASES) == {*ADAPTERS, "none"}, "a new CI adapter needs its 'cannot deliver' case here"


def _run(test_key: TestKey, tmp_path: Path, case: Case) -> subprocess.CompletedProcess[bytes]:
    _, extra, args, close_stdout = case
    env = cli_env(test_key, tmp_path, **extra)
    # PATH without the CI's helper programs (envman, buildkite-agent): only the system's.
    env["PATH"] = "/usr/bin:/bin"
    argv = [sys.executable, "-m", "xctoken", "generate", "--export", "APP_STORE_CONNECT_TOKEN", *args]
    return subprocess.run([*STDOUT_CLOSED, *argv] if close_stdout else argv, env=env, cwd=tmp_path,
                          capture_output=True, timeout=60)


@pytest.mark.parametrize("adapter", sorted(CASES))
def test_cannot_deliver_exits_7_on_every_ci(test_key: TestKey, tmp_path: Path, adapter: str) -> None:
    missing = CASES[adapter][0]
    result = _run(test_key, tmp_path, CASES[adapter])
    lines = result.stderr.decode().splitlines()
    assert result.returncode == OutputError.exit_code == 7, (
        f"{adapter} without {missing}: exit {result.returncode}, not 7 (cannot deliver the token); "
        f"stderr: {lines}")
    assert len(lines) == 1 and lines[0].startswith("xctoken: error: "), lines
    assert b"eyJ" not in result.stdout + result.stderr  # no token printed on the way out


def test_github_without_its_env_file_exits_7(test_key: TestKey, tmp_path: Path) -> None:
    result = _run(test_key, tmp_path, GITHUB_WITHOUT_ENV_FILE)
    assert result.returncode == 7, result.stderr
    assert b"GITHUB_ENV" in result.stderr and b"eyJ" not in result.stdout + result.stderr
