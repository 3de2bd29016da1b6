"""Run a GitLab pipeline under tests/e2e with gitlab-ci-local, the way the GitLab tests share it.

The pipeline directory is copied into a fresh git project with the shared
openssl verifier (tests/e2e/verify-token.sh); the throwaway key's variables are
written after the commit, so git never holds them.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ISSUER_ID, ROOT, TestKey
from cryptography.hazmat.primitives import serialization

from .image import VERIFIER_IMAGE, build_image

GITLAB_CI_LOCAL = ROOT / ".ci" / "tools" / "bin" / "gitlab-ci-local"
UTIL_IMAGE = "firecow/gitlab-ci-local-util:latest"
VERIFIER_SCRIPT = ROOT / "tests" / "e2e" / "verify-token.sh"


def require_tools() -> str:
    """gitlab-ci-local and its images, or a failure saying how to provision them; the xctoken image tag."""
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


def run_pipeline(pipeline: Path, tmp_path: Path, key: TestKey, verify_with: TestKey | None = None,
                 private_key_b64: str | None = None,
                 extra: dict[Path, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``pipeline`` (a directory holding .gitlab-ci.yml) with ``key``'s ASC_* variables.

    ``verify_with`` is the key the verifier checks against (default ``key``);
    ``extra`` copies more trees into the project (source -> name there).
    """
    project = tmp_path / "project"
    shutil.copytree(pipeline, project)
    shutil.copy2(VERIFIER_SCRIPT, project / VERIFIER_SCRIPT.name)
    for source, name in (extra or {}).items():
        shutil.copytree(source, project / name)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.name=xctoken-test", "-c", "user.email=test@xctoken.invalid",
                    "commit", "-qm", "pipeline"], cwd=project, check=True)
    # Written after the commit: gitlab-ci-local reads it from the directory, git never sees it.
    variables = {"ASC_KEY_ID": key.key_id, "ASC_ISSUER_ID": ISSUER_ID,
                 "ASC_PRIVATE_KEY_B64": private_key_b64 or base64.b64encode(key.pem.encode()).decode(),
                 "ASC_PUBLIC_KEY_B64": public_b64(verify_with or key), "VERIFIER_IMAGE": VERIFIER_IMAGE}
    (project / ".gitlab-ci-local-variables.yml").write_text(json.dumps(variables))  # JSON is YAML
    return subprocess.run([str(GITLAB_CI_LOCAL), "--pull-policy", "if-not-present", "--no-artifacts-to-source"],
                          cwd=project, capture_output=True, text=True, timeout=600)
