"""portable/bootstrap.py, the portable action's setup, run the way the action runs it (outside act).

A venv without pip (no ensurepip), filled directly (tests/action/test_portable_direct_install.py)
or, where pip is configured beyond what that knows, by the runner's own pip (``pip --python``)
with the hash-checked lock; the fallback to ensurepip when the runner's Python has no pip, said
in the log; reuse by a second use in the job. tests/action/test_workflow.py runs the whole
action under act.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT

BOOTSTRAP = ROOT / "portable" / "bootstrap.py"


def load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("xctoken_portable_bootstrap", BOOTSTRAP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_bootstrap(python: str, runner_temp: Path, pip_settings: dict[str, str] | None = None,
                  cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """bootstrap.py as the action runs it. By default this machine's pip settings (index, CA
    bundle) stay, as on a runner; `pip_settings` replaces every PIP_* variable."""
    dropped = ("GITHUB_", "RUNNER_", "INPUT_", *(("PIP_",) if pip_settings is not None else ()))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(dropped)}, **(pip_settings or {}),
           "RUNNER_TEMP": str(runner_temp), "INPUT_PRIVATE-KEY": "not-for-pip"}
    return subprocess.run([python, "-I", str(BOOTSTRAP)], capture_output=True, text=True, env=env, timeout=600,
                          cwd=cwd)


def not_like_pip(bootstrap: ModuleType) -> Callable[[Path, Path, tuple[int, ...]], str]:
    def refuse(directory: Path, python: Path, pip_version: tuple[int, ...]) -> str:
        raise bootstrap.NotLikePip("a reason")
    return refuse


def venv_has(python: str, module: str) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


def check_venv(stdout: str, runner_temp: Path) -> str:
    python = stdout.strip()
    assert python.startswith(runner_temp.as_posix() + "/xctoken-venv-") and Path(python).is_file()
    probe = "import cryptography.hazmat.primitives.asymmetric.ec, jwt, actions_toolkit.file_command"
    assert subprocess.run([python, "-I", "-c", probe], capture_output=True).returncode == 0
    return python


@pytest.mark.slow
def test_the_venv_is_made_without_ensurepip_and_filled_by_the_runner_s_pip(tmp_path: Path) -> None:
    # This machine's pip settings, and one the direct install leaves to pip (changing nothing here).
    machine = {name: value for name, value in os.environ.items() if name.startswith("PIP_")}
    result = run_bootstrap(sys.executable, tmp_path, {**machine, "PIP_TRUSTED_HOST": "localhost"})
    assert result.returncode == 0, result.stderr[-3000:]
    python = check_venv(result.stdout, tmp_path)
    assert "xctoken: pip installs the lock (pip is configured with " in result.stderr
    assert "(without pip), runner's pip" in result.stderr
    assert "ensurepip" not in result.stderr
    assert not venv_has(python, "pip")  # no pip was copied into the venv
    assert result.stdout.count("\n") == 1  # only the interpreter on stdout: pip's output went to stderr
    # A second use in the job reuses the venv as it is.
    again = run_bootstrap(sys.executable, tmp_path)
    assert again.returncode == 0 and again.stdout == result.stdout
    assert "reusing" in again.stderr and "installing" not in again.stderr


@pytest.mark.slow
def test_a_python_without_pip_falls_back_to_ensurepip_and_says_so(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    venv.EnvBuilder(with_pip=False).create(bare)  # a Python that has no pip of its own
    python = str(bare / "bin" / "python")
    assert not venv_has(python, "pip")
    result = run_bootstrap(python, tmp_path / "runner-temp")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "has no pip of its own, so the venv gets one from ensurepip" in result.stderr
    assert "venv with ensurepip" in result.stderr
    check_venv(result.stdout, tmp_path / "runner-temp")


def test_a_failing_runner_pip_is_retried_with_the_venv_s_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = load_bootstrap()
    calls: list[list[str]] = []
    made: list[bool] = []
    monkeypatch.setattr(bootstrap, "runner_pip_version", lambda: (24, 0))
    monkeypatch.setattr(bootstrap, "install_directly", not_like_pip(bootstrap))
    monkeypatch.setattr(bootstrap, "create", lambda directory, with_pip: made.append(with_pip))
    monkeypatch.setattr(bootstrap, "run_pip", lambda argv: calls.append(argv) or (1 if len(calls) == 1 else 0))
    code, how = bootstrap.install(tmp_path / "v", tmp_path / "v" / "bin" / "python")
    assert code == 0 and made == [False, True]
    # -I: no pip (or anything else) from the working directory, which is the workspace.
    assert calls[0][1:6] == ["-I", "-m", "pip", "--python", str(tmp_path / "v" / "bin" / "python")]
    assert calls[1][:4] == [str(tmp_path / "v" / "bin" / "python"), "-I", "-m", "pip"]
    assert "could not install into the venv (exit 1); trying again" in capsys.readouterr().err
    assert "ensurepip" in how
    for argv in calls:  # the same hash-checked, wheels-only install of the lock either way
        assert {"--require-hashes", "--only-binary=:all:", "--no-deps"} <= set(argv)
        assert argv[-2:] == ["-r", str(ROOT / "requirements" / "runtime.txt")]


def test_an_old_runner_pip_goes_straight_to_ensurepip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = load_bootstrap()
    made: list[bool] = []
    monkeypatch.setattr(bootstrap, "runner_pip_version", lambda: (22, 2))
    monkeypatch.setattr(bootstrap, "create", lambda directory, with_pip: made.append(with_pip))
    monkeypatch.setattr(bootstrap, "run_pip", lambda argv: 0)
    assert bootstrap.install(tmp_path / "v", tmp_path / "v" / "bin" / "python")[0] == 0
    assert made == [True]
    assert "older than 22.3" in capsys.readouterr().err


def test_a_venv_ensurepip_cannot_make_fails_with_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = load_bootstrap()

    def broken_venv(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert not [name for name in kwargs["env"] if name.upper().startswith("INPUT_")]  # type: ignore[attr-defined]
        raise subprocess.CalledProcessError(1, argv)

    monkeypatch.setenv("INPUT_PRIVATE-KEY", "-----BEGIN PRIVATE KEY-----")
    monkeypatch.setattr(bootstrap, "runner_pip_version", lambda: None)
    monkeypatch.setattr(bootstrap.subprocess, "run", broken_venv)
    assert bootstrap.install(tmp_path / "v", tmp_path / "v" / "bin" / "python") == (1, "no venv")
    said = capsys.readouterr().err
    assert "could not make the venv with ensurepip (exit 1)" in said and "Traceback" not in said


def test_pip_never_sees_the_step_s_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrap = load_bootstrap()
    seen: dict[str, str] = {}
    monkeypatch.setenv("INPUT_PRIVATE-KEY", "-----BEGIN PRIVATE KEY-----")
    monkeypatch.setenv("INPUT_KEY-ID", "2X9R4HXF34")

    def fake_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.update(kwargs["env"])  # type: ignore[arg-type]
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(bootstrap.subprocess, "run", fake_run)
    assert bootstrap.run_pip(["pip"]) == 0
    assert seen and not [name for name in seen if name.upper().startswith("INPUT_")]
    assert seen.get("PATH")  # the rest of the environment (index settings, proxies) stays
