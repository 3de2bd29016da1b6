"""Build the action's image once per session and run it the way the GitHub runner does."""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT

IMAGE_TAG = "xctoken:test"
# Docker Hub is unreachable on the machines these tests run on: the Dockerfile's pinned
# python:3.11-slim base is replaced by the local stand-in (.ci/provision.sh builds it).
STANDIN_BASE = "xctoken-standin/python:3.11-slim"
RUNNER_UID = 1001  # the `runner` user of GitHub-hosted Ubuntu machines


def build_image() -> str:
    """docker build of the real Dockerfile, with only the base image substituted."""
    subprocess.run(["docker", "image", "inspect", STANDIN_BASE], check=True, capture_output=True)
    result = subprocess.run(
        ["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={STANDIN_BASE}", "-t", IMAGE_TAG, str(ROOT)],
        capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"docker build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return IMAGE_TAG


@dataclass
class RunnerHost:
    """A GitHub-hosted runner's directory layout on this machine: <work>/_temp, <work>/<repo>/<repo>.

    The container gets exactly the mounts and variables actions/runner's
    ContainerActionHandler gives it; RUNNER_TEMP's owner plays the runner user.
    """

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls) -> RunnerHost:
        root = Path(tempfile.mkdtemp(prefix="xctoken-runner-"))
        os.chmod(root, 0o755)  # later "steps" run as the runner's uid and must reach the files
        host = cls(root)
        for path in (host.temp / "_github_home", host.temp / "_github_workflow", host.file_commands,
                     host.workspace):
            path.mkdir(parents=True)
        for name in ("output", "env", "summary", "state", "path"):
            (host.file_commands / name).touch()
        for path in (host.work, host.temp, host.workspace.parent, host.workspace):
            os.chown(path, RUNNER_UID, RUNNER_UID)
        return host

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def temp(self) -> Path:
        return self.work / "_temp"

    @property
    def file_commands(self) -> Path:
        return self.temp / "_runner_file_commands"

    @property
    def workspace(self) -> Path:
        return self.work / "xctoken-action" / "xctoken-action"

    def run_action(self, image: str, inputs: dict[str, str], extra_env: dict[str, str] | None = None,
                   docker_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """`docker run` as the runner writes it: names on the command line, values in the environment."""
        container_env = {
            "GITHUB_OUTPUT": "/github/file_commands/output", "GITHUB_ENV": "/github/file_commands/env",
            "GITHUB_STEP_SUMMARY": "/github/file_commands/summary", "GITHUB_STATE": "/github/file_commands/state",
            "GITHUB_PATH": "/github/file_commands/path", "GITHUB_WORKSPACE": "/github/workspace",
            "RUNNER_TEMP": "/github/runner_temp", "HOME": "/github/home",
            "RUNNER_WORKSPACE": str(self.workspace.parent),  # under no mount: passed as the host path
            "RUNNER_OS": "Linux",
        }
        container_env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
        container_env.update(extra_env or {})
        # The step's variables reach the container through this process's environment, PATH
        # and HOME included, so docker itself is called by its absolute path.
        argv = [shutil.which("docker") or "docker", "run", "--rm", *docker_args, "--workdir", "/github/workspace"]
        for name in container_env:
            argv += ["-e", name]
        argv += ["-e", "GITHUB_ACTIONS=true", "-e", "CI=true",
                 "-v", f"{self.temp}:/github/runner_temp",
                 "-v", f"{self.temp / '_github_home'}:/github/home",
                 "-v", f"{self.temp / '_github_workflow'}:/github/workflow",
                 "-v", f"{self.file_commands}:/github/file_commands",
                 "-v", f"{self.workspace}:/github/workspace",
                 "-v", "/var/run/docker.sock:/var/run/docker.sock", image]
        process_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_CONFIG": "/nonexistent-docker-config",
                       **container_env}
        return subprocess.run(argv, env=process_env, capture_output=True, text=True, timeout=120)

    def file_command(self, name: str) -> str:
        return (self.file_commands / name).read_text()

    def as_runner_user(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """What a later `run:` step (the runner's user, not root) can do with the host paths."""
        return subprocess.run(list(argv), user=RUNNER_UID, group=RUNNER_UID, extra_groups=[], env=env,
                              capture_output=True, text=True, timeout=60)

    def later_step(self, script: str) -> subprocess.CompletedProcess[str]:
        """A later `run:` step on the host, as the runner starts it.

        The runner's user (in the docker group, as on GitHub-hosted machines), the
        job's GITHUB_ENV variables, GITHUB_PATH prepended to PATH, RUNNER_TEMP and the
        file commands at their HOST paths, the workspace as working directory.
        """
        from .runner_protocol import parse_file_commands

        path_entries = [line for line in self.file_command("path").splitlines() if line.strip()]
        env = {"PATH": os.pathsep.join([*reversed(path_entries), "/usr/local/bin:/usr/bin:/bin"]),
               "HOME": str(self.temp / "_github_home"), "GITHUB_ACTIONS": "true", "CI": "true",
               "RUNNER_TEMP": str(self.temp), "GITHUB_WORKSPACE": str(self.workspace),
               "GITHUB_ENV": str(self.file_commands / "env"), "GITHUB_OUTPUT": str(self.file_commands / "output"),
               "GITHUB_PATH": str(self.file_commands / "path")}
        env.update(parse_file_commands(self.file_command("env")))
        docker_group = grp.getgrnam("docker").gr_gid
        return subprocess.run(["/bin/sh", "-ec", script], user=RUNNER_UID, group=RUNNER_UID,
                              extra_groups=[docker_group], env=env, cwd=self.workspace,
                              capture_output=True, text=True, timeout=120)

    def remove(self) -> None:
        subprocess.run(["rm", "-rf", str(self.root)], check=False)
