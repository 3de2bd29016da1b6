"""A real GitLab pipeline: tests/e2e/gitlab/.gitlab-ci.yml run by gitlab-ci-local with Docker.

Job `mint` runs in the image built from the repository's Dockerfile (only the base
substituted: Docker Hub is unreachable here) and writes the token to a dotenv
report; job `verify` runs in another image, receives ASC_TOKEN through the report
as GitLab would pass it, and verifies it with openssl alone. The key is a
throwaway made by the test, handed over in .gitlab-ci-local-variables.yml (never
on a command line, never committed).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import ISSUER_ID, ROOT
from cryptography.hazmat.primitives import serialization

from .image import VERIFIER_IMAGE, build_image

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import TestKey

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PIPELINE = ROOT / "tests" / "e2e" / "gitlab"
GITLAB_CI_LOCAL = ROOT / ".ci" / "tools" / "bin" / "gitlab-ci-local"
UTIL_IMAGE = "firecow/gitlab-ci-local-util:latest"


@pytest.fixture
def tools(require_docker: None) -> str:
    missing = [str(GITLAB_CI_LOCAL)] if not GITLAB_CI_LOCAL.exists() else []
    for image in (UTIL_IMAGE, VERIFIER_IMAGE):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
            missing.append(image)
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `bash .ci/provision.sh`")
    return build_image()


def public_b64(key: TestKey) -> str:
    pem = key.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(pem).decode()


def run_pipeline(tmp_path: Path, key: TestKey, verify_with: TestKey) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "project"
    shutil.copytree(PIPELINE, project)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.name=xctoken-test", "-c", "user.email=test@xctoken.invalid",
                    "commit", "-qm", "pipeline"], cwd=project, check=True)
    # Written after the commit: gitlab-ci-local reads it from the directory, git never sees it.
    variables = {"ASC_KEY_ID": key.key_id, "ASC_ISSUER_ID": ISSUER_ID,
                 "ASC_PRIVATE_KEY_B64": base64.b64encode(key.pem.encode()).decode(),
                 "ASC_PUBLIC_KEY_B64": public_b64(verify_with), "VERIFIER_IMAGE": VERIFIER_IMAGE}
    (project / ".gitlab-ci-local-variables.yml").write_text(json.dumps(variables))  # JSON is YAML
    return subprocess.run([str(GITLAB_CI_LOCAL), "--pull-policy", "if-not-present", "--no-artifacts-to-source"],
                          cwd=project, capture_output=True, text=True, timeout=600)


def test_token_minted_in_one_job_is_verified_in_the_next(tools: str, tmp_path: Path, test_key: TestKey) -> None:
    result = run_pipeline(tmp_path, test_key, verify_with=test_key)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    # Markers, not just the exit code: an entrypoint that ignored the script would "pass".
    assert "XCTOKEN-E2E minted in 0" in log
    assert "XCTOKEN-E2E same-job ok" in log
    assert "XCTOKEN-E2E verified by openssl: kid 2X9R4HXF34" in log
    # The token (every ES256 JWT of ours starts with this header) and the key never reach the log.
    assert "eyJhbGciOiJFUzI1NiIs" not in log
    body = "".join(line for line in test_key.pem.splitlines() if not line.startswith("-----"))
    assert body[:32] not in log and base64.b64encode(test_key.pem.encode()).decode()[:32] not in log


def test_the_verifier_job_rejects_a_token_from_another_key(tools: str, tmp_path: Path, test_key: TestKey,
                                                           make_key: Callable[..., TestKey]) -> None:
    other = make_key()
    assert other.public_numbers != test_key.public_numbers
    result = run_pipeline(tmp_path, test_key, verify_with=other)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "XCTOKEN-E2E minted in 0" in log and "XCTOKEN-E2E verified" not in log
