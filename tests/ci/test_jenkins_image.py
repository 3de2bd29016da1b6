"""The image run the way Jenkins runs it: ``docker.image(...).inside`` / a docker agent.

Jenkins starts ``docker run -t -d -u <uid>:<gid> -w <workspace> -v <workspace>
-v <workspace>@tmp ... IMAGE cat`` and runs every ``sh`` step with ``docker exec``.
Here: an arbitrary non-root UID with no home directory and no passwd entry, the
image's own entrypoint (Jenkins does not override it) given ``cat``, and the key as
a secret file in ``@tmp`` as ``withCredentials(file(...))`` places it. Tokens are
checked with jwcrypto on the host.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import ISSUER_ID

from .helpers import verify
from .image import build_image

if TYPE_CHECKING:
    from conftest import TestKey

pytestmark = pytest.mark.docker
UID = GID = 12345


@pytest.fixture
def image(require_docker: None) -> str:
    # Built (from cache: about a second) for each test, so it is there when the test runs.
    return build_image()


@pytest.fixture
def agent(image: str, tmp_path: Path, test_key: TestKey) -> Iterator[tuple[str, Path, Path]]:
    workspace, scratch = tmp_path / "workspace", tmp_path / "workspace@tmp"
    for directory in (workspace, scratch):
        directory.mkdir()
        os.chown(directory, UID, GID)
    key = test_key.write(scratch, "secretFiles-asc.p8")
    os.chown(key, UID, GID)
    started = subprocess.run(
        ["docker", "run", "-t", "-d", "-u", f"{UID}:{GID}", "-w", str(workspace),
         "-v", f"{workspace}:{workspace}:rw", "-v", f"{scratch}:{scratch}:rw",
         "-e", "JENKINS_URL=https://jenkins.example/", "-e", "BUILD_ID=7", "-e", f"WORKSPACE={workspace}",
         image, "cat"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        yield container, workspace, key
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=60)


def docker_exec(container: str, key: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = ["-e", "ASC_KEY_ID=2X9R4HXF34", "-e", f"ASC_ISSUER_ID={ISSUER_ID}", "-e", f"ASC_PRIVATE_KEY_PATH={key}"]
    return subprocess.run(["docker", "exec", *env, container, *command], capture_output=True, text=True,
                          timeout=120)


def test_cat_keeps_the_container_up_as_an_arbitrary_uid(agent: tuple[str, Path, Path]) -> None:
    container, workspace, _ = agent
    state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}} {{.Config.User}}", container],
                           capture_output=True, text=True, check=True)
    assert state.stdout.split() == ["true", f"{UID}:{GID}"]
    who = subprocess.run(["docker", "exec", container, "sh", "-c", 'id -u; echo "home=${HOME:-}"; pwd'],
                         capture_output=True, text=True, check=True)
    uid, home, cwd = who.stdout.split("\n")[:3]
    assert uid == str(UID) and cwd == str(workspace)
    assert home in ("home=", "home=/")  # no passwd entry, no home directory


def test_generate_by_docker_exec_prints_a_valid_token(agent: tuple[str, Path, Path], test_key: TestKey) -> None:
    container, _, key = agent
    result = docker_exec(container, key, "xctoken", "generate")
    assert result.returncode == 0, result.stderr
    claims = verify(result.stdout, test_key)
    assert claims["exp"] - claims["iat"] <= 1200  # type: ignore[operator]


def test_sh_step_export_and_output_file(agent: tuple[str, Path, Path], test_key: TestKey) -> None:
    container, workspace, key = agent
    # What a Jenkinsfile `sh` step does: a shell script in the container.
    captured = docker_exec(container, key, "sh", "-c", 'T="$(xctoken generate --export)"; printf %s "$T"')
    assert captured.returncode == 0, captured.stderr
    verify(captured.stdout, test_key)
    assert "MaskPasswordsBuildWrapper" in captured.stderr  # Jenkins was detected
    assert captured.stdout not in captured.stderr

    to_file = docker_exec(container, key, "xctoken", "generate", "--export", "--output", f"{workspace}/asc.jwt")
    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stdout == ""
    written = workspace / "asc.jwt"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600 and written.stat().st_uid == UID
    verify(written.read_text(), test_key)


def test_plain_docker_run_generate(image: str, test_key: TestKey) -> None:
    """What Bitrise (Linux stacks) or any CI with Docker does: ``docker run --rm -e ... IMAGE generate``."""
    env = {"PATH": os.environ["PATH"], "ASC_KEY_ID": test_key.key_id, "ASC_ISSUER_ID": ISSUER_ID,
           "ASC_PRIVATE_KEY": test_key.pem}
    # -e NAME without a value: the key stays off the docker command line.
    result = subprocess.run(["docker", "run", "--rm", "-e", "ASC_KEY_ID", "-e", "ASC_ISSUER_ID", "-e",
                             "ASC_PRIVATE_KEY", image, "generate"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    verify(result.stdout, test_key)
