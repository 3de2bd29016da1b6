"""Fixtures for running the action the way the runner does: INPUT_* variables and file commands."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ISSUER_ID
from conftest import TestKey as AscKey

from .runner_protocol import parse_file_commands, parse_workflow_commands


@dataclass
class RunnerStep:
    """One step's environment: file-command files, RUNNER_TEMP and a workspace, all fresh."""

    root: Path
    inputs: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("file_commands", "runner_temp", "workspace"):
            (self.root / name).mkdir(exist_ok=True)
        for name in ("output", "env", "summary", "state", "path"):
            (self.root / "file_commands" / name).touch()

    @property
    def files(self) -> Path:
        return self.root / "file_commands"

    @property
    def runner_temp(self) -> Path:
        return self.root / "runner_temp"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    def env(self) -> dict[str, str]:
        env = {
            "GITHUB_ACTIONS": "true", "CI": "true",
            "GITHUB_OUTPUT": str(self.files / "output"), "GITHUB_ENV": str(self.files / "env"),
            "GITHUB_STEP_SUMMARY": str(self.files / "summary"), "GITHUB_STATE": str(self.files / "state"),
            "GITHUB_PATH": str(self.files / "path"), "RUNNER_TEMP": str(self.runner_temp),
            "GITHUB_WORKSPACE": str(self.workspace),
        }
        # Input names as the runner makes them: upper case, hyphens kept.
        env.update({f"INPUT_{name.upper()}": value for name, value in self.inputs.items()})
        env.update(self.extra_env)
        return env

    def run(self) -> tuple[int, str]:
        from xctoken.action import run

        stdout = io.StringIO()
        code = run(self.env(), stdout)
        return code, stdout.getvalue()

    def raw(self, name: str) -> str:
        return (self.files / name).read_text()

    def outputs(self) -> dict[str, str]:
        return parse_file_commands(self.raw("output"))

    def exported(self) -> dict[str, str]:
        return parse_file_commands(self.raw("env"))

    def file_commands_untouched(self) -> bool:
        return all((self.files / n).read_bytes() == b"" for n in ("output", "env", "summary", "state", "path"))


def team_inputs(key: AscKey, **overrides: str) -> dict[str, str]:
    """The action.yml defaults plus a team key, as a workflow would pass them."""
    inputs = {
        "issuer-id": ISSUER_ID, "key-id": key.key_id,
        "private-key": base64.b64encode(key.pem.encode()).decode(),
        "private-key-path": "", "key-type": "team", "lifetime": "1200", "scope": "",
        "audience": "appstoreconnect-v1", "env-name": "APP_STORE_CONNECT_TOKEN", "write-key-file": "false",
        "mint-on-demand": "true", "export-for": "",
    }
    inputs.update(overrides)
    return inputs


@pytest.fixture
def step(tmp_path: Path) -> RunnerStep:
    return RunnerStep(tmp_path)


def commands(stdout: str, name: str) -> list[str]:
    return [c.data for c in parse_workflow_commands(stdout) if c.command == name]
