"""The CI workflow (.github/workflows/ci.yml) run by a real runner: act, its ``quick`` job for Ubuntu.

act runs the job as written, in the stand-in runner image (``-P ubuntu-latest=RUNNER_IMAGE``):
``actions/checkout`` of the repository under test is served by act from the working tree (a
throwaway copy here), and ``actions/setup-python`` (act would fetch it from github.com, which
is unreachable here) is replaced by a local stand-in, tests/action/standins/setup-python, through
``act --local-repository actions/setup-python@REF=DIR``. The stand-in installs no Python: it puts
the image's python3 on PATH and says so, with a warning naming the version the matrix asked for
(the image has 3.11; the Ubuntu matrix rows ask for 3.10 and 3.13, which a fresh machine of this
kind cannot install: Debian 12 packages neither, and Python builds come from github.com; those
versions are exercised by the real runners). Then the job's own step,
``bash scripts/test.sh --quick``, makes the venv from the pinned lock and runs pytest.

To stay within a few minutes the job's pytest gets a selection through PYTEST_ADDOPTS (the
same variable a user would set): the signing and CLI tests, the docs tests and one Docker
test file, so the log must show tests passing and the Docker ones "skipped by --quick".
XCTOKEN_ACT_QUICK_ALL=1 runs the whole quick suite instead (about three minutes more), but for
the one test that needs pgrep, which the stand-in image lacks (GitHub's runners have procps).

The ``full`` job is not run under act, because it cannot run there as it runs on GitHub: its
step is ``sudo ... bash .ci/run``, which provisions Docker images, act and gitlab-ci-local and
then runs the container, act and GitLab tests. Under act the job runs in a container that
reaches the host's Docker daemon only through the mounted socket, so every ``docker run -v``,
``docker cp`` and act workspace those tests make names a path inside the job container that
the daemon's host does not have (it would need Docker-in-Docker, which neither GitHub's runner
nor this setup is); act's own containers would be siblings that clash with the outer run's
(one ``act-dockeraction`` tag, one lock file); the runner image has neither sudo nor Node/npm
(gitlab-ci-local) nor rsync; and .ci/run (about six minutes here) is far longer than a test
should be. What that job runs is .ci/run itself, which is exactly what CI runs on this machine.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, copy_checkout

from .test_workflow import ACT, RUNNER_IMAGE, act_lock, assert_no_leak  # noqa: F401  (act_lock: the act lock fixture)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
SETUP_PYTHON_STANDIN = ROOT / "tests" / "action" / "standins" / "setup-python"
# What the job's pytest runs (PYTEST_ADDOPTS), unless XCTOKEN_ACT_QUICK_ALL=1.
SELECTION = ["tests/core/test_signing.py", "tests/core/test_cli.py", "tests/test_docs.py",
             "tests/action/test_workflow.py"]
# With XCTOKEN_ACT_QUICK_ALL=1: all but what the stand-in image cannot run (it has no procps).
NEEDS_PGREP = "tests/ci/test_bitrise_step.py::test_a_cancel_during_the_adds_leaves_no_variable_and_no_key_file"
SUMMARY = re.compile(r"^.*=+ (?:(\d+) failed, )?(\d+) passed(?:, (\d+) skipped)?[^=]* in [\d.]+s.*=+\s*$", re.M)


def quick_job() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["quick"]  # type: ignore[no-any-return]


def ubuntu_row() -> dict[str, str]:
    rows = [row for row in quick_job()["strategy"]["matrix"]["include"] if str(row["os"]).startswith("ubuntu")]
    assert rows, "ci.yml's quick job has no Ubuntu row"
    return {key: str(value) for key, value in rows[0].items()}


def setup_python_ref() -> str:
    """The ref ci.yml pins actions/setup-python to, which the stand-in is served as."""
    uses = [str(step["uses"]) for step in quick_job()["steps"] if "uses" in step]
    others = [u for u in uses if not u.startswith(("actions/checkout@", "actions/setup-python@"))]
    assert not others, f"ci.yml's quick job uses {others}: act cannot fetch them here; give each a stand-in"
    refs = [u.split("@", 1)[1] for u in uses if u.startswith("actions/setup-python@")]
    assert len(refs) == 1, uses
    return refs[0]


@pytest.fixture
def repo_copy(require_docker: None, tmp_path: Path) -> Path:
    if not ACT.exists():
        pytest.fail(f"{ACT} is missing: run `bash .ci/provision.sh`")
    if subprocess.run(["docker", "image", "inspect", RUNNER_IMAGE], capture_output=True).returncode != 0:
        pytest.fail(f"{RUNNER_IMAGE} is missing: run `bash .ci/provision.sh`")
    return copy_checkout(tmp_path / "repo", message="act run")


@pytest.mark.usefixtures("act_lock")
def test_the_quick_job_passes_under_act(repo_copy: Path, request: pytest.FixtureRequest) -> None:
    row = ubuntu_row()
    run_all = os.environ.get("XCTOKEN_ACT_QUICK_ALL") == "1"
    argv = [str(ACT), "workflow_dispatch", "-W", ".github/workflows/ci.yml", "-j", "quick",
            *(arg for key, value in row.items() for arg in ("--matrix", f"{key}:{value}")),
            "-P", f"ubuntu-latest={RUNNER_IMAGE}", "--pull=false", "--rm",
            "--local-repository", f"actions/setup-python@{setup_python_ref()}={SETUP_PYTHON_STANDIN}"]
    argv += ["--env", "PYTEST_ADDOPTS=" + (f"--deselect {NEEDS_PGREP}" if run_all else " ".join(SELECTION))]
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n[xctoken] act runs ci.yml's quick job ({row}) in {RUNNER_IMAGE}, actions/setup-python replaced "
              f"by the stand-in {SETUP_PYTHON_STANDIN.relative_to(ROOT)}; pytest runs "
              + ("the whole quick suite" if run_all else " ".join(SELECTION)))
    result = subprocess.run(argv, cwd=repo_copy, capture_output=True, text=True, timeout=900 if run_all else 300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    job = f"quick tests, Python {row['python']} on {row['os']}"
    assert f"[ci/{job}]" in log and "🏁  Job succeeded" in log
    # The stand-in said what it is, and the step itself ran and passed.
    assert "setup-python stand-in" in log, log[-3000:]
    assert "✅  Success - Main Quick tests (no Docker)" in log
    # pytest really ran: its closing line, tests passed and none failed; the Docker ones skipped by --quick.
    summaries = SUMMARY.findall(log)
    assert len(summaries) == 1, log[-3000:]
    failed, passed, skipped = summaries[0]
    assert not failed and int(passed) >= (1000 if run_all else 100) and int(skipped or 0) >= 3, summaries
    assert "skipped by --quick (XCTOKEN_SKIP_DOCKER=1): needs Docker" in log
    assert re.search(r"platform linux -- Python 3\.\d+\.\d+", log)
    assert_no_leak(log)
