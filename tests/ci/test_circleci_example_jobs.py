"""The CircleCI examples' jobs have the files their steps run, and run at all.

A CircleCI job starts in an empty working directory: a step that runs ``./scripts/upload.sh``
needs a ``checkout`` (or an ``attach_workspace`` of an earlier job's files) before it. In the
xctoken image, ``checkout`` cannot work (the image has no git or ssh, orb/README.md and the
orb's executor say so), so a job there gets its files from a workspace. And a job no workflow
lists never runs: a broken example nobody would notice.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from conftest import ROOT

CONFIGS = {
    "examples/circleci/config.yml": lambda doc: doc,
    **{str(p.relative_to(ROOT)): (lambda doc: doc["usage"]) for p in sorted((ROOT / "orb/src/examples").glob("*.yml"))},
}
# A file of the project a step runs: ./scripts/x.sh, scripts/x.sh, python3 tools/x.py.
PROJECT_FILE = re.compile(r"(?<![\w$/.~-])(?:\./)?(?:[\w-]+/)+[\w.-]+\.(?:sh|py|rb)\b")
FILE_STEPS = {"checkout", "attach_workspace"}


def config(path: str) -> dict[str, Any]:
    return CONFIGS[path](yaml.safe_load((ROOT / path).read_text()))


def step_name(step: Any) -> str:
    return step if isinstance(step, str) else next(iter(step))


def command(step: Any) -> str:
    if isinstance(step, dict) and "run" in step:
        run = step["run"]
        return run if isinstance(run, str) else str(run.get("command", ""))
    return ""


def in_xctoken_image(job: dict[str, Any]) -> bool:
    return any("xctoken-action" in str(image.get("image", "")) for image in job.get("docker", []) or [])


@pytest.mark.parametrize("path", sorted(CONFIGS))
def test_a_step_that_runs_a_project_file_comes_after_checkout_or_a_workspace(path: str) -> None:
    for name, job in config(path).get("jobs", {}).items():
        have_files = False
        for step in job.get("steps", []):
            have_files = have_files or step_name(step) in FILE_STEPS
            used = PROJECT_FILE.findall(command(step))
            assert have_files or not used, (
                f"{path}: job {name} runs {used[0]} with no checkout or attach_workspace before it; the job "
                "starts in an empty directory")


@pytest.mark.parametrize("path", sorted(CONFIGS))
def test_no_checkout_in_the_xctoken_image(path: str) -> None:
    for name, job in config(path).get("jobs", {}).items():
        if in_xctoken_image(job):
            assert "checkout" not in [step_name(s) for s in job.get("steps", [])], (
                f"{path}: job {name} runs in the xctoken image, which has no git or ssh for checkout; "
                "attach a workspace from a job that checked out instead")


@pytest.mark.parametrize("path", sorted(CONFIGS))
def test_every_job_runs_in_a_workflow(path: str) -> None:
    doc = config(path)
    listed = set()
    for workflow in doc.get("workflows", {}).values():
        for entry in workflow.get("jobs", []):
            listed.add(entry if isinstance(entry, str) else next(iter(entry)))
    assert set(doc.get("jobs", {})) <= listed, f"{path}: jobs no workflow runs: {set(doc['jobs']) - listed}"
