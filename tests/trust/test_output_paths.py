"""The files the token is appended to or written at, as the user and the CI name them.

- An env file whose last line has no newline (``printf 'echo x' > "$BASH_ENV"``)
  gets one before our record, so the record is never glued onto that line.
- Two names for one file (GITHUB_ENV and GITHUB_OUTPUT, a hard link, ``./``)
  get one write under one lock, never a lock that waits for itself.
- A file the user names outside GitHub (``--dotenv``, ``$BASH_ENV``, ``$CM_ENV``)
  that another user owns or others may write is refused, nothing written; the
  runner's own files on GitHub are not (it owns them, the container runs as root).
- Key text where a path belongs is recognised, and ordinary paths are not.

Key text and empty values as every entry point's output path are in the
hostile corpus (``output_path`` cases); this file holds what needs more than
one poisoned value.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import Action, Workspace, action_available, action_command
from .leaks import Canary, find_leaks
from .test_concurrency import parse_github_file_command

OUTPUT_ERROR = 7
RUNNER_UID = 1001  # the `runner` user of GitHub-hosted machines, owner of the file commands


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "xctoken", "generate", *args]


def _env(ws: Workspace, canary: Canary, **extra: str) -> dict[str, str | bytes]:
    return ws.base_env(CI="true", ASC_PRIVATE_KEY=canary.pem(), ASC_KEY_ID=GOOD_KEY_ID,
                       ASC_ISSUER_ID=GOOD_ISSUER, **extra)


def _one_error(result_stderr: bytes) -> str:
    lines = [line for line in result_stderr.decode().split("\n") if line]
    assert len(lines) == 1 and lines[0].startswith("xctoken: error: "), lines
    return lines[0]


# --- a last line without its newline


@pytest.mark.parametrize(("before", "after"), [("", "A=1\n"), ("x\n", "x\nA=1\n"), ("x", "x\nA=1\n"),
                                               ("x\r", "x\r\nA=1\n")])
def test_append_records_never_glues_a_record_onto_the_last_line(tmp_path: Path, before: str, after: str) -> None:
    from xctoken.files import append_records

    target = tmp_path / "env"
    target.write_bytes(before.encode())
    append_records([(target, "A=1\n")])
    assert target.read_bytes() == after.encode()


def test_circleci_bash_env_without_final_newline_keeps_the_token_out_of_the_log(tmp_path: Path) -> None:
    # printf 'echo "restoring cache"' > "$BASH_ENV": glued on, the export line became
    # echo "restoring cache"export TOKEN='...', printed by every later step.
    canary, ws = Canary.new(), Workspace(tmp_path)
    bash_env = ws.runner_temp / "bash_env"
    bash_env.write_text('echo "restoring cache"')
    bash_env.chmod(0o600)
    result = subprocess.run(_cli("--export", "TOKEN"), env=_env(ws, canary, CIRCLECI="true", BASH_ENV=str(bash_env)),
                            capture_output=True, cwd=ws.work, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    later_step = subprocess.run(["bash", "-c", 'source "$1"; printf "[%s]" "${#TOKEN}"', "bash", str(bash_env)],
                                capture_output=True, text=True, timeout=30, env={"PATH": os.environ["PATH"]})
    assert later_step.stdout.startswith("restoring cache\n[")
    assert "eyJ" not in later_step.stdout  # the token is set, not printed
    assert int(later_step.stdout.split("[")[1].rstrip("]")) > 100


@pytest.mark.parametrize("ci", ["github", "codemagic"])
def test_heredoc_env_files_without_final_newline_still_parse(tmp_path: Path, ci: str) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    target = ws.github_env if ci == "github" else ws.runner_temp / "cm_env"
    target.write_text("EARLIER=1")
    target.chmod(0o600)
    marker = ({"GITHUB_ACTIONS": "true", "GITHUB_ENV": str(target)} if ci == "github"
              else {"CM_BUILD_ID": "b1", "CM_ENV": str(target)})
    result = subprocess.run(_cli("--export", "TOKEN"), env=_env(ws, canary, **marker), capture_output=True,
                            cwd=ws.work, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    records = dict(parse_github_file_command(target.read_text()))
    assert records["EARLIER"] == "1" and canary.verifies(records["TOKEN"].encode())


# --- two names for one file


def _alias(path: Path, how: str) -> str:
    if how == "dot":
        return f"{path.parent}/./{path.name}"  # as text: pathlib would drop the "."
    link = path.parent / f"{path.name}-link"
    os.link(path, link)
    return str(link)


@pytest.mark.parametrize("how", ["dot", "hard-link"])
def test_two_names_for_one_file_get_one_write_not_a_deadlock(tmp_path: Path, how: str) -> None:
    target = tmp_path / "env"
    target.write_text("")
    alias = _alias(target, how)
    code = ("import sys; from xctoken.files import append_records; "
            "append_records([(sys.argv[1], 'A=1\\n'), (sys.argv[2], 'B=2\\n'), (sys.argv[1], 'C=3\\n')])")
    # A subprocess with a timeout: before the fix the second flock waited for the first forever.
    result = subprocess.run([sys.executable, "-c", code, str(target), alias], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    assert target.read_text() == "A=1\nB=2\nC=3\n"


def test_action_with_github_env_and_output_naming_one_file(tmp_path: Path) -> None:
    if not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")
    canary, ws = Canary.new(), Workspace(tmp_path)
    capture = Action().run(ws, canary, {"output_path": f"{ws.file_commands}/./env"})  # text: pathlib drops "."
    assert capture.returncode == 0, capture.stdout.decode()[-500:]
    records = dict(parse_github_file_command(ws.github_env.read_text()))
    assert canary.verifies(records["token"].encode()) and records["APP_STORE_CONNECT_TOKEN"] == records["token"]


# --- files that are not the user's alone


def _dotenv_run(ws: Workspace, canary: Canary, report: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(_cli("--export", "TOKEN", "--dotenv", str(report)), env=_env(ws, canary, GITLAB_CI="true"),
                          capture_output=True, cwd=ws.work, timeout=60)


def _bash_env_run(ws: Workspace, canary: Canary, bash_env: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(_cli("--export", "TOKEN"), env=_env(ws, canary, CIRCLECI="true", BASH_ENV=str(bash_env)),
                          capture_output=True, cwd=ws.work, timeout=60)


@pytest.mark.parametrize("sink", ["dotenv", "bash-env", "cm-env"])
@pytest.mark.parametrize("mode", [0o666, 0o620])
def test_a_file_others_may_write_is_refused_for_the_token(tmp_path: Path, sink: str, mode: int) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    target = ws.tmp / "shared.env"
    target.write_text("KEEP=1\n")
    target.chmod(mode)
    if sink == "dotenv":
        result = _dotenv_run(ws, canary, target)
    elif sink == "bash-env":
        result = _bash_env_run(ws, canary, target)
    else:
        result = subprocess.run(_cli("--export", "TOKEN"), env=_env(ws, canary, CM_BUILD_ID="b1", CM_ENV=str(target)),
                                capture_output=True, cwd=ws.work, timeout=60)
    assert result.returncode == OUTPUT_ERROR, result.stderr.decode()
    line = _one_error(result.stderr)
    assert "can be written by" in line and "chmod go-w" in line and "nothing was written" in line
    assert target.read_text() == "KEEP=1\n" and result.stdout == b""


@pytest.mark.parametrize("sink", ["dotenv", "bash-env"])
def test_another_users_file_is_refused_for_the_token_even_as_root(tmp_path: Path, sink: str) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    canary, ws = Canary.new(), Workspace(tmp_path)
    planted = ws.tmp / "planted.env"  # /tmp/.bash_env-... created ahead by another user
    planted.write_text("")
    planted.chmod(0o600)
    os.chown(planted, 65534, 65534)
    result = (_dotenv_run if sink == "dotenv" else _bash_env_run)(ws, canary, planted)
    assert result.returncode == OUTPUT_ERROR, result.stderr.decode()
    assert "belongs to another user" in _one_error(result.stderr)
    assert planted.read_bytes() == b""


def test_an_own_file_that_others_may_only_read_is_still_appended_to(tmp_path: Path) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    report = ws.work / "build.env"
    report.write_text("VERSION=1\n")
    report.chmod(0o644)  # what `echo VERSION=1 >> build.env` makes under umask 022
    result = _dotenv_run(ws, canary, report)
    assert result.returncode == 0, result.stderr.decode()
    assert report.read_text().startswith("VERSION=1\nTOKEN=")


def test_githubs_own_file_commands_are_not_held_to_that_rule(tmp_path: Path) -> None:
    # The runner makes them (mode from its umask, owned by its user while the container
    # action runs as root): refusing them would refuse every such runner.
    if not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")
    canary, ws = Canary.new(), Workspace(tmp_path)
    for path in ws.file_commands.iterdir():
        path.chmod(0o666)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            os.chown(path, RUNNER_UID, RUNNER_UID)
    capture = Action().run(ws, canary, {})
    assert capture.returncode == 0, capture.stdout.decode()[-500:]
    assert canary.verifies(dict(parse_github_file_command(ws.github_output.read_text()))["token"].encode())


# --- key text where a path belongs: the other GitHub file commands


@pytest.mark.parametrize("variable", ["GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"])
def test_action_refuses_key_text_in_any_file_command_variable(tmp_path: Path, variable: str) -> None:
    if not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")
    from .entrypoints import DEBUG_ENV, action_command

    canary, ws = Canary.new(), Workspace(tmp_path)
    body = "".join(canary.pem().strip().split("\n")[1:-1]).replace("/", "A")  # no '/': a bare file name
    files = {"GITHUB_ENV": str(ws.github_env), "GITHUB_OUTPUT": str(ws.github_output),
             "GITHUB_STEP_SUMMARY": str(ws.github_summary), "GITHUB_PATH": str(ws.github_path), variable: body}
    env = ws.base_env(**DEBUG_ENV, **files, CI="true", GITHUB_ACTIONS="true", RUNNER_TEMP=str(ws.runner_temp),
                      **{"INPUT_PRIVATE-KEY": canary.pem(), "INPUT_KEY-ID": GOOD_KEY_ID,
                         "INPUT_ISSUER-ID": GOOD_ISSUER})
    capture = ws.run(action_command(), env)
    assert capture.returncode == 3
    errors = [line for line in capture.stdout.decode().split("\n") if line.startswith("::error")]
    assert len(errors) == 1 and f"${variable} should be a path" in errors[0], errors
    assert capture.files == {} and list(ws.work.iterdir()) == []
    assert find_leaks(capture, canary, github=True) == []


# --- the test itself


REAL_PATHS = [
    "/home/runner/work/_temp/_runner_file_commands/set_env_0b4d3c0e-2f4a-4b8e-9a0c-1d5e6f7a8b9c",
    "D:\\a\\_temp\\_runner_file_commands\\set_output_0b4d3c0e-2f4a-4b8e-9a0c-1d5e6f7a8b9c",
    "/Users/runner/work/_temp/_runner_file_commands/step_summary_0b4d3c0e",
    "/tmp/.bash_env-63a1b2c3d4e5f6a7b8c9d0e1-0-build",
    "/Users/JohnAppleseed/Library/Developer/Xcode/DerivedData/MyApp2/out",
    "/var/lib/jenkins/workspace/MyProject2024Pipeline/token",
    "/private/var/folders/7b/2k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i/T/token",
    "C:/Users/RunnerAdmin/AppData/Local/Temp/TOKEN1",
    "/builds/Group1/Sub2Group/Project3Name/asc-token.env",
    "/Users/Shared/Jenkins/Home/workspace/iOS/App3/Fastlane/Token",
    "3f786850e387550fdab836ed7e6dc881de23001b",
    "token-6f1ed002ab5595859014ebf0951522d9.jwt",
    "C:\\Users\\me\\notes\\new\\token.txt",
]


@pytest.mark.parametrize("path", REAL_PATHS)
def test_ordinary_paths_are_not_taken_for_key_text(path: str) -> None:
    from xctoken.files import check_output_path, looks_like_key_text

    assert not looks_like_key_text(path)
    assert check_output_path(path, "--output") == path


def test_every_rendering_of_a_key_is_taken_for_key_text() -> None:
    from xctoken.errors import ConfigError
    from xctoken.files import check_output_path, looks_like_key_text

    for _ in range(20):
        canary = Canary.new()
        pem = canary.pem()
        body = "".join(pem.strip().split("\n")[1:-1])
        for text in (pem, pem.strip().replace("\n", "\\n"), " ".join(pem.split("\n")), body,
                     body.replace("/", "A"), base64.b64encode(pem.encode()).decode(),
                     base64.b64encode(canary.der()).decode(), f"./{body}"):
            assert looks_like_key_text(text)
            with pytest.raises(ConfigError) as refused:
                check_output_path(text, "$BASH_ENV")
            assert "$BASH_ENV" in str(refused.value) and body[:16] not in str(refused.value)



def test_ci_github_forced_off_a_runner_prints_no_mask_and_no_key(tmp_path: Path) -> None:
    """``--ci github`` where GITHUB_ACTIONS is not true: the ::add-mask:: lines would print the key."""
    canary = Canary.new()
    ws = Workspace(tmp_path)
    env = ws.base_env(ASC_PRIVATE_KEY=canary.pem(), ASC_KEY_ID=GOOD_KEY_ID, ASC_ISSUER_ID=GOOD_ISSUER,
                      GITHUB_ENV=str(ws.github_env))
    capture = ws.run([sys.executable, "-m", "xctoken", "generate", "--ci", "github", "--export"], env)
    assert capture.returncode == 7  # cannot deliver the token here
    assert b"::add-mask::" not in capture.stdout + capture.stderr
    assert find_leaks(capture, canary) == []
    assert ws.github_env.read_bytes() == b""


def test_the_action_off_a_runner_prints_no_mask_and_no_key(tmp_path: Path) -> None:
    if not action_available():
        pytest.skip("actions-toolkit is not installed")
    canary = Canary.new()
    ws = Workspace(tmp_path)
    env = ws.base_env(**{"INPUT_PRIVATE-KEY": canary.pem(), "INPUT_KEY-ID": GOOD_KEY_ID,
                         "INPUT_ISSUER-ID": GOOD_ISSUER, "GITHUB_ENV": str(ws.github_env),
                         "GITHUB_OUTPUT": str(ws.github_output), "RUNNER_TEMP": str(ws.runner_temp)})
    capture = ws.run(action_command(), env)
    assert capture.returncode == 7  # cannot deliver the token here
    assert b"::add-mask::" not in capture.stdout + capture.stderr
    assert find_leaks(capture, canary) == []
