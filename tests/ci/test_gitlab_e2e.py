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
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import ROOT

from .gitlab_local import require_tools, run_pipeline

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import TestKey

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PIPELINE = ROOT / "tests" / "e2e" / "gitlab"


@pytest.fixture
def tools(require_docker: None) -> str:
    return require_tools()


def test_token_minted_in_one_job_is_verified_in_the_next(tools: str, tmp_path: Path, test_key: TestKey) -> None:
    result = run_pipeline(PIPELINE, tmp_path, test_key)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    # Markers, not just the exit code: an entrypoint that ignored the script would "pass".
    assert "XCTOKEN-E2E minted in 0" in log
    assert "XCTOKEN-E2E same-job ok" in log
    assert "XCTOKEN-E2E ASC_TOKEN verified by openssl: kid 2X9R4HXF34, lifetime 600 s, scope null" in log
    # The token (every ES256 JWT of ours starts with this header) and the key never reach the log.
    assert "eyJhbGciOiJFUzI1NiIs" not in log
    body = "".join(line for line in test_key.pem.splitlines() if not line.startswith("-----"))
    assert body[:32] not in log and base64.b64encode(test_key.pem.encode()).decode()[:32] not in log


def test_the_verifier_job_rejects_a_token_from_another_key(tools: str, tmp_path: Path, test_key: TestKey,
                                                           make_key: Callable[..., TestKey]) -> None:
    other = make_key()
    assert other.public_numbers != test_key.public_numbers
    result = run_pipeline(PIPELINE, tmp_path, test_key, verify_with=other)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "XCTOKEN-E2E minted in 0" in log and "verified by openssl" not in log
