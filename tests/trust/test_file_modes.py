"""Files holding a secret are 0600 from their first byte, and the tool's temporary files go away.

Two proofs. The modes: every file xctoken creates fresh (``--output``, a dotenv
report, $BASH_ENV, $CM_ENV, the action's key files) is 0600 even under
``umask 000``, where a plain ``open()`` would make it 0666. The absence of a
window: under ``strace``, each such file is created by an ``open`` that
already carries mode 0600 (``O_CREAT``, and ``O_EXCL`` for temporary files),
and no ``chmod`` ever touches it afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
from pathlib import Path

import pytest

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import Workspace, action_available, action_command
from .leaks import Canary

UMASK_000 = [sys.executable, "-c", "import os, sys; os.umask(0); os.execv(sys.argv[1], sys.argv[1:])"]


def _env(ws: Workspace, canary: Canary, **extra: str) -> dict[str, str | bytes]:
    return ws.base_env(ASC_PRIVATE_KEY=canary.pem(), ASC_KEY_ID=GOOD_KEY_ID, ASC_ISSUER_ID=GOOD_ISSUER,
                       CI="true", **extra)


def _sinks(ws: Workspace) -> dict[str, tuple[list[str], dict[str, str], list[Path]]]:
    out, dotenv, bash_env, cm_env = (ws.work / "token.txt", ws.work / "token.env",
                                     ws.runner_temp / "bash_env", ws.runner_temp / "cm_env")
    generate = [sys.executable, "-m", "xctoken", "generate"]
    return {
        "output": ([*generate, "-o", str(out)], {}, [out]),
        "output-json": ([*generate, "--format", "json", "-o", str(out)], {}, [out]),
        "dotenv": ([*generate, "--export", "T", "--dotenv", str(dotenv)], {"GITLAB_CI": "true"}, [dotenv]),
        "bash-env": ([*generate, "--export", "T"], {"CIRCLECI": "true", "BASH_ENV": str(bash_env)}, [bash_env]),
        "cm-env": ([*generate, "--export", "T"], {"CM_BUILD_ID": "1", "CM_ENV": str(cm_env)}, [cm_env]),
        "action-key-files": (action_command(), {
            "GITHUB_ACTIONS": "true", "INPUT_PRIVATE-KEY": "", "INPUT_KEY-ID": GOOD_KEY_ID,
            "INPUT_ISSUER-ID": GOOD_ISSUER,
            "INPUT_WRITE-KEY-FILE": "true", "INPUT_MINT-ON-DEMAND": "false", "GITHUB_OUTPUT": str(ws.github_output),
            "GITHUB_ENV": str(ws.github_env), "RUNNER_TEMP": str(ws.runner_temp),
            "GITHUB_PATH": str(ws.github_path)},
            [ws.runner_temp / "xctoken" / "private_keys" / f"AuthKey_{GOOD_KEY_ID}.p8",
             ws.runner_temp / "xctoken" / f"api_key_{GOOD_KEY_ID}.json"]),
    }


SINKS = ["output", "output-json", "dotenv", "bash-env", "cm-env", "action-key-files"]


def _prepare(name: str, ws: Workspace, canary: Canary) -> tuple[list[str], dict[str, str | bytes], list[Path]]:
    if name.startswith("action") and not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")
    argv, extra, files = _sinks(ws)[name]
    if "INPUT_PRIVATE-KEY" in extra:
        extra = {**extra, "INPUT_PRIVATE-KEY": canary.pem()}
    return argv, _env(ws, canary, **extra), files


@pytest.mark.parametrize("sink", SINKS)
def test_secret_files_are_0600_even_under_umask_000(tmp_path, sink: str) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    argv, env, files = _prepare(sink, ws, canary)
    capture = ws.run([*UMASK_000, *argv], env)
    assert capture.returncode == 0, (capture.stderr + capture.stdout)[-400:]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path.name}: {stat.S_IMODE(path.stat().st_mode):o}"
        for parent in path.parents:
            if parent == ws.runner_temp or parent == ws.work:
                break
            assert not stat.S_IMODE(parent.stat().st_mode) & 0o077, f"{parent} is open to others"
    # Nothing else was left in the workspace (temporary files of the atomic write included).
    made = {Path(p) for p in capture.files}
    assert made - set(files) <= {ws.github_output, ws.github_env}


_PID = r"^(?:\d+\s+|\[pid\s+\d+\] )?"
_OPEN = re.compile(_PID + r'(?:open|openat)\((?:AT_FDCWD, )?"([^"]+)", ([A-Z_|]+)(?:, (0\d+))?\)')
_CHMOD = re.compile(_PID + r"(chmod|fchmod|fchmodat)\(")


@pytest.mark.parametrize("sink", SINKS)
def test_secret_files_are_created_with_their_mode_and_never_chmodded(tmp_path, sink: str) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    canary, ws = Canary.new(), Workspace(tmp_path)
    argv, env, files = _prepare(sink, ws, canary)
    trace = tmp_path / "harness" / "strace.log"
    capture = ws.run(["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=open,openat,chmod,fchmod,fchmodat",
                      *argv], env)
    assert capture.returncode == 0, (capture.stderr + capture.stdout)[-400:]
    lines = trace.read_text().split("\n")
    watched = [str(d) for d in (ws.work, ws.runner_temp)]
    creates = []
    for line in lines:
        match = _OPEN.match(line)
        if match and "O_CREAT" in match.group(2) and match.group(1).startswith(tuple(watched)):
            creates.append((match.group(1), match.group(2), match.group(3)))
    assert creates, "no file was created under the workspace: the trace saw nothing"
    for path, flags, mode in creates:
        assert mode == "0600", f"{path} created with mode {mode} ({flags})"
    chmods = [line for line in lines if _CHMOD.match(line) and any(d in line for d in watched)
              and not line.rstrip().endswith("0700) = 0")]
    # A chmod of a directory to 0700 (the action's private key directory) is allowed; of a file, never.
    assert chmods == [], chmods
    for path in files:
        assert any(created == str(path) or os.path.basename(created).startswith(f".{path.name}.")
                   for created, _, _ in creates), f"{path} was not seen being created"
