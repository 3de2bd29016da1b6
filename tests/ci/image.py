"""Build the real Dockerfile once per session for the CI image tests.

Docker Hub is unreachable where these tests run, so only the base image is
substituted (``--build-arg BASE_IMAGE=xctoken-standin/python:3.11-slim``, built
by .ci/provision.sh); everything else is the Dockerfile users build. Own tag and
a label that gives the image its own ID: other test areas build the same content
and remove their image by ID (``docker rmi --force ID`` drops every tag on it).
"""

from __future__ import annotations

import re
import subprocess

from conftest import ROOT

IMAGE_TAG = "xctoken:ci-test"
STANDIN_BASE = "xctoken-standin/python:3.11-slim"
# Has sh, bash, openssl, jq: the "other image" a later GitLab job uses to verify. It is the act
# job image .ci/provision.sh builds, whose tag changes with its contents: read from there, so the
# two never drift apart (a stale tag passes only on a machine that still has the old image).
VERIFIER_IMAGE = re.search(r"^RUNNER_IMAGE=(\S+)", (ROOT / ".ci" / "provision.sh").read_text(),
                           re.M).group(1)  # type: ignore[union-attr]


def build_image() -> str:
    assert (ROOT / "Dockerfile").is_file(), "the repository's Dockerfile is missing"
    subprocess.run(["docker", "image", "inspect", STANDIN_BASE], check=True, capture_output=True)
    result = subprocess.run(
        ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={STANDIN_BASE}",
         "--label", "org.xctoken.test-area=tests/ci", "-t", IMAGE_TAG, str(ROOT)],
        capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"docker build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    print(f"built {IMAGE_TAG} from the repository's Dockerfile with BASE_IMAGE={STANDIN_BASE} "
          "(stand-in: Docker Hub is unreachable here)")
    return IMAGE_TAG
