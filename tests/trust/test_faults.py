"""Faults on the way out: full devices, missing or unwritable targets, a closed stdout, SIGTERM.

Each must end in one clear error line and the documented exit code (7: the
token could not be delivered), with no partial record in any file, no
temporary file left behind, and no key or token anywhere.

Root caveat: these tests run as root, who ignores file permissions. Where the
point is "unwritable" or "unreadable", the run drops to the ``nobody`` user
with ``setpriv`` (skipped, saying so, when that is not possible); elsewhere
the fault is one root cannot get around either (/dev/full, a path under a
missing directory, a directory where a file should be).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import needs_dev_full, needs_proc

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import DEBUG_ENV, ROOT, Workspace, action_available, action_command
from .leaks import Canary, Capture, find_leaks

OUTPUT_ERROR = 7
NOBODY = 65534


@pytest.fixture
def canary() -> Canary:
    return Canary.new()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "xctoken", *args]


def _github_env(ws: Workspace, canary: Canary, **overrides: str) -> dict[str, str | bytes]:
    values: dict[str, str] = {
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_ENV": str(ws.github_env),
        "GITHUB_OUTPUT": str(ws.github_output), "GITHUB_STEP_SUMMARY": str(ws.github_summary),
        "GITHUB_PATH": str(ws.github_path),
        "RUNNER_TEMP": str(ws.runner_temp), "ASC_PRIVATE_KEY": canary.pem(), "ASC_KEY_ID": GOOD_KEY_ID,
        "ASC_ISSUER_ID": GOOD_ISSUER, **DEBUG_ENV,
        "INPUT_PRIVATE-KEY": canary.pem(), "INPUT_KEY-ID": GOOD_KEY_ID, "INPUT_ISSUER-ID": GOOD_ISSUER,
    }
    values.update(overrides)
    return ws.base_env(**values)


def assert_clean_failure(capture: Capture, canary: Canary, error_prefix: str = "xctoken: error: ",
                         exit_code: int = OUTPUT_ERROR, allow_stdout_masks: bool = True) -> str:
    """One error line, the exit code, no traceback, stdout holds nothing but masks, no leak."""
    text = capture.stderr.decode("utf-8", "replace") + capture.stdout.decode("utf-8", "replace")
    assert "Traceback" not in text
    errors = [line for line in text.split("\n") if line.startswith(error_prefix)]
    assert len(errors) == 1, text[-800:]
    assert capture.returncode == exit_code, (capture.returncode, errors)
    stray = [line for line in capture.stdout.decode("utf-8", "replace").split("\n")
             if line and not (allow_stdout_masks and line.startswith("::"))]
    assert stray == []
    assert find_leaks(capture, canary, github=True) == []
    return errors[0]


# --- GitHub file commands: /dev/full, missing, a directory


@pytest.mark.parametrize("fault", [pytest.param("dev-full", marks=needs_dev_full), "missing-dir", "directory"])
def test_cli_export_to_a_broken_github_env_fails_cleanly(canary: Canary, tmp_path, fault: str) -> None:
    ws = Workspace(tmp_path)
    target = {"dev-full": "/dev/full", "missing-dir": str(ws.tmp / "gone" / "env"),
              "directory": str(ws.tmp)}[fault]
    capture = ws.run(_cli("generate", "--verbose", "--export", "TOKEN"), _github_env(ws, canary, GITHUB_ENV=target))
    line = assert_clean_failure(capture, canary)
    assert "GITHUB_ENV" in line or target in line or "append" in line
    assert capture.files == {}


def _require_action() -> None:
    if not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")


@needs_dev_full
@pytest.mark.parametrize("broken", ["GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"])
def test_action_with_one_full_file_command_writes_no_record_anywhere(canary: Canary, tmp_path,
                                                                     broken: str) -> None:
    _require_action()
    ws = Workspace(tmp_path)
    capture = ws.run(action_command(), _github_env(ws, canary, **{broken: "/dev/full"}))
    assert_clean_failure(capture, canary, error_prefix="::error")
    # All or nothing: the two files that could be written were rolled back.
    assert capture.files == {}, {k: v[:80] for k, v in capture.files.items()}


@pytest.mark.parametrize("fault", ["missing-dir", "directory"])
def test_action_with_write_key_file_leaves_no_key_file_when_output_fails(canary: Canary, tmp_path,
                                                                         fault: str) -> None:
    _require_action()
    ws = Workspace(tmp_path)
    target = str(ws.tmp / "gone" / "out") if fault == "missing-dir" else str(ws.tmp)
    env = _github_env(ws, canary, GITHUB_ENV="/dev/full", **{"INPUT_WRITE-KEY-FILE": "true"})
    if fault == "directory":
        env["GITHUB_OUTPUT"] = target
    else:
        env["GITHUB_STEP_SUMMARY"] = target
    capture = ws.run(action_command(), env)
    assert_clean_failure(capture, canary, error_prefix="::error")
    leftovers = [p for p in ws.runner_temp.rglob("*") if p.is_file()]
    assert leftovers == []


# --- --output


@pytest.mark.parametrize("fault", ["missing-dir", "directory"])
def test_output_to_an_impossible_target_fails_and_leaves_no_temp_file(canary: Canary, tmp_path,
                                                                      fault: str) -> None:
    ws = Workspace(tmp_path)
    target = ws.work / "gone" / "token" if fault == "missing-dir" else ws.tmp
    if fault == "directory":
        (ws.tmp / "keep").write_text("x")
    capture = ws.run(_cli("generate", "-o", str(target)), _github_env(ws, canary, GITHUB_ACTIONS=""))
    assert_clean_failure(capture, canary)
    assert capture.files == {}
    assert sorted(p.name for p in ws.tmp.iterdir()) == (["keep"] if fault == "directory" else [])


def test_output_never_replaces_a_device_pipe_or_standard_stream(tmp_path) -> None:
    """As root, renaming over /dev/null or /dev/stdout would swap the machine's device for a
    file holding the token. Probed on stand-ins: a FIFO, and links shaped like /dev/stdout."""
    from xctoken import files
    from xctoken.errors import OutputError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    stdout_like = tmp_path / "stdout"
    # Shaped like /dev/stdout: a link to /proc/self/fd/1 on Linux, to /dev/fd/1 (fdesc) on macOS.
    stdout_like.symlink_to("/proc/self/fd/1" if os.path.isdir("/proc/self/fd") else "/dev/fd/1")
    null_like = tmp_path / "null"
    null_like.symlink_to(os.devnull)
    for target in (fifo, stdout_like, null_like):
        before = os.lstat(target)
        with pytest.raises(OutputError, match="device, pipe or standard stream"):
            files.write_secret_file(target, "secret-token-text")
        after = os.lstat(target)
        assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "null", "stdout"]
    # A plain symlink to a regular file is still replaced (never written through).
    (tmp_path / "real").write_text("keep")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    files.write_secret_file(tmp_path / "link", "secret-token-text")
    assert (tmp_path / "real").read_text() == "keep" and not (tmp_path / "link").is_symlink()


def test_output_interrupted_mid_write_removes_its_temp_file(canary: Canary, tmp_path, monkeypatch) -> None:
    """SIGTERM lands while the secret file is being written: the temp file must go.

    The CLI turns SIGTERM into SystemExit (console.guard_process); raising it from the
    fsync that follows the write is that moment, made deterministic.
    """
    from xctoken import files

    def interrupted(fd: int) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    monkeypatch.setattr(files.os, "fsync", interrupted)
    with pytest.raises(SystemExit):
        files.write_secret_file(tmp_path / "token", "secret-token-text")
    assert list(tmp_path.iterdir()) == []


# --- stdout closed early


def test_stdout_closed_before_the_token_is_written(canary: Canary, tmp_path) -> None:
    ws = Workspace(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write gets EPIPE
    try:
        result = subprocess.run(_cli("generate"), env=_github_env(ws, canary, GITHUB_ACTIONS=""),
                                stdout=write_end, stderr=subprocess.PIPE, cwd=ws.work, timeout=60)
    finally:
        os.close(write_end)
    capture = Capture(b"", result.stderr, result.returncode)
    line = assert_clean_failure(capture, canary)
    assert "standard output" in line


def test_stdout_piped_into_head_never_shows_a_traceback(canary: Canary, tmp_path) -> None:
    ws = Workspace(tmp_path)
    script = f"set -o pipefail; {sys.executable} -m xctoken generate --format json | head -c 1 >/dev/null"
    result = subprocess.run(["bash", "-c", script], env=_github_env(ws, canary, GITHUB_ACTIONS=""),
                            capture_output=True, cwd=ws.work, timeout=60)
    # head may exit before or after the write: success (0) or exit 7 with one line, nothing else.
    assert result.returncode in (0, OUTPUT_ERROR)
    lines = [line for line in result.stderr.decode().split("\n") if line]
    assert len(lines) <= 1 and all(line.startswith("xctoken: error: ") for line in lines), lines
    assert find_leaks(Capture(b"", result.stderr), canary) == []


# --- SIGTERM while blocked writing a file command


def _locked_run(ws: Workspace, argv: list[str], env: dict[str, str | bytes], target: Path,
                stop: signal.Signals = signal.SIGTERM) -> Capture:
    """Run ``argv`` while this test holds the flock on ``target``; SIGTERM it once it waits for the lock.

    (A FIFO no longer makes a writer wait: append_records refuses it without blocking.)
    """
    import fcntl

    target.write_bytes(b"")
    with open(target, "ab") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        process = subprocess.Popen(argv, env=env, cwd=ws.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _waiting_for_lock(process.pid, target):
                time.sleep(0.05)
            assert _waiting_for_lock(process.pid, target), "the run never reached the file command"
            process.send_signal(stop)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return Capture(stdout, stderr, process.returncode)


def _waiting_for_lock(pid: int, target: Path) -> bool:
    """Is ``pid`` blocked in flock() on a descriptor of ``target``?"""
    try:
        syscall = Path(f"/proc/{pid}/syscall").read_text().split()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
        fd_target = os.readlink(f"/proc/{pid}/fd/{int(syscall[1], 16)}") if len(syscall) > 1 else ""
    except (OSError, ValueError):
        return False
    # flock is syscall 73 on x86-64 and 32 on arm64; the kernel waits in locks_lock_inode_wait.
    return fd_target == str(target) and ("lock" in wchan or syscall[0] in ("73", "32"))


@needs_proc  # _locked_run sees the run wait in flock() in /proc/PID/syscall and wchan
def test_sigterm_while_exporting_leaves_no_record_and_no_traceback(canary: Canary, tmp_path) -> None:
    ws = Workspace(tmp_path)
    env_file = ws.tmp / "env-locked"
    capture = _locked_run(ws, _cli("generate", "--export", "TOKEN"),
                          _github_env(ws, canary, GITHUB_ENV=str(env_file)), env_file)
    assert capture.returncode in (128 + signal.SIGTERM, -signal.SIGTERM)
    assert b"Traceback" not in capture.stderr
    assert find_leaks(capture, canary, github=True) == []
    assert [p.name for p in ws.tmp.iterdir()] == ["env-locked"]
    assert env_file.read_bytes() == b""


@needs_proc  # _locked_run
def test_action_sigterm_while_writing_leaves_no_readable_key_file(canary: Canary, tmp_path) -> None:
    _require_action()
    ws = Workspace(tmp_path)
    output = ws.tmp / "output-locked"
    env = _github_env(ws, canary, GITHUB_OUTPUT=str(output), **{"INPUT_WRITE-KEY-FILE": "true"})
    capture = _locked_run(ws, action_command(), env, output)
    assert capture.returncode != 0
    assert b"Traceback" not in capture.stderr + capture.stdout
    assert find_leaks(capture, canary, github=True) == []
    assert ws.github_env.read_bytes() == b"" and ws.github_summary.read_bytes() == b""
    assert output.read_bytes() == b""
    for path in ws.runner_temp.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & 0o077, f"{path} is mode {mode:o} after SIGTERM"


# --- a FIFO where a file belongs: refused at once, never waited on


@pytest.mark.parametrize("variable", ["GITHUB_ENV", "BASH_ENV", "--dotenv"])
def test_a_fifo_as_the_file_to_append_to_is_refused_without_waiting(canary: Canary, tmp_path,
                                                                   variable: str) -> None:
    ws = Workspace(tmp_path)
    fifo = ws.tmp / "fifo"
    os.mkfifo(fifo, 0o600)
    if variable == "GITHUB_ENV":
        argv, env = _cli("generate", "--export", "TOKEN"), _github_env(ws, canary, GITHUB_ENV=str(fifo))
    elif variable == "BASH_ENV":
        argv, env = _cli("generate", "--export", "TOKEN"), _github_env(
            ws, canary, GITHUB_ACTIONS="", CIRCLECI="true", BASH_ENV=str(fifo))
    else:
        argv, env = _cli("generate", "--export", "TOKEN", "--dotenv", str(fifo)), _github_env(
            ws, canary, GITHUB_ACTIONS="", GITLAB_CI="true")
    capture = ws.run(argv, env, timeout=30)  # before the fix: blocked in open() until the timeout
    line = assert_clean_failure(capture, canary)
    assert "is not a regular file" in line
    assert capture.files == {}


def test_a_fifo_as_the_key_file_is_refused_without_waiting(canary: Canary, tmp_path) -> None:
    ws = Workspace(tmp_path)
    fifo = ws.work / f"AuthKey_{GOOD_KEY_ID}.p8"
    os.mkfifo(fifo, 0o600)
    capture = ws.run(_cli("generate", "--key", str(fifo), "--issuer-id", GOOD_ISSUER),
                     ws.base_env(), timeout=30)
    line = assert_clean_failure(capture, canary, exit_code=4)
    assert "named pipe" in line


def test_a_key_piped_through_process_substitution_still_works(canary: Canary, tmp_path) -> None:
    # --key <(op read ...): a pipe with a writer is read to its end, as before.
    ws = Workspace(tmp_path)
    key = ws.tmp / "key.p8"
    key.write_text(canary.pem())
    script = (f"{sys.executable} -m xctoken generate --key <(sleep 0.3; cat {key}) "
              f"--key-id {GOOD_KEY_ID} --issuer-id {GOOD_ISSUER}")
    result = subprocess.run(["bash", "-c", script], env=ws.base_env(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()[-300:]
    assert canary.verifies(result.stdout.strip())


# --- unreadable and unwritable, as a user who is not root


def _as_nobody() -> list[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop to an unprivileged user (root ignores permissions)")
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    # nobody must reach this Python and the checkout, which it cannot in a private home: GitHub's full
    # job runs `sudo .ci/run` in /home/runner/work, and Ubuntu makes home directories 0750.
    probe = subprocess.run([*prefix, sys.executable, "-c", "import xctoken"], env={"PYTHONPATH": str(ROOT)},
                           cwd="/", capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run {sys.executable} with the checkout on its path (a private home "
                    f"directory?): {probe.stderr.decode(errors='replace').strip()[-200:]}")
    return prefix


def _open_to_nobody(ws: Workspace) -> None:
    for path in [ws.root, *ws.root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o777)
    for path in ws.file_commands.iterdir():
        path.chmod(0o666)


def test_unreadable_key_file_is_a_key_error(canary: Canary, tmp_path) -> None:
    prefix = _as_nobody()
    ws = Workspace(tmp_path)
    _open_to_nobody(ws)
    key = ws.work / f"AuthKey_{GOOD_KEY_ID}.p8"
    key.write_text(canary.pem())
    key.chmod(0o600)  # root's, so nobody cannot read it
    env = ws.base_env(PYTHONPATH=str(ROOT))
    capture = ws.run([*prefix, *_cli("generate", "--key", str(key), "--issuer-id", GOOD_ISSUER)], env)
    line = assert_clean_failure(capture, canary, exit_code=4)
    assert "permission denied" in line


def test_unwritable_github_output_is_an_output_error(canary: Canary, tmp_path) -> None:
    prefix = _as_nobody()
    _require_action()
    ws = Workspace(tmp_path)
    _open_to_nobody(ws)
    ws.github_output.chmod(0o644)  # root's: nobody may not append
    env = _github_env(ws, canary, PYTHONPATH=str(ROOT))
    capture = ws.run([*prefix, *action_command()], env)
    assert_clean_failure(capture, canary, error_prefix="::error")
    assert capture.files == {}


@needs_proc  # _locked_run
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_action_stopped_while_writing_removes_the_key_files_it_made(canary: Canary, tmp_path,
                                                                     stop: signal.Signals) -> None:
    _require_action()
    ws = Workspace(tmp_path)
    output = ws.tmp / "output-locked"
    env = _github_env(ws, canary, GITHUB_OUTPUT=str(output), **{"INPUT_WRITE-KEY-FILE": "true"})
    capture = _locked_run(ws, action_command(), env, output, stop)
    assert capture.returncode == 128 + stop and b"Traceback" not in capture.stderr + capture.stdout
    assert [p for p in ws.runner_temp.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("entry", ["cli", "action"])
def test_no_core_file_can_hold_the_key(canary: Canary, tmp_path, entry: str) -> None:
    """The process that holds the key has its core size limit at 0, whatever the shell allowed."""
    probe = (f"import resource, sys; sys.path.insert(0, {str(ROOT)!r}); "
             "from xctoken.console import guard_process; guard_process(); "
             "print(resource.getrlimit(resource.RLIMIT_CORE))")
    shell = f"ulimit -c unlimited 2>/dev/null || ulimit -c 1000000; exec {sys.executable} -c {shlex.quote(probe)}"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "(0, 0)", result.stderr
    # Both entry points call it first thing.
    source = (ROOT / "xctoken" / ("cli.py" if entry == "cli" else "action.py")).read_text()
    main = source[source.index("def main("):]
    assert "guard_process()" in main.split("\n", 3)[1] + main.split("\n", 3)[2]


# --- the log itself cannot be written: stdout or stderr full, closed or /dev/null


def _run_with_streams(argv: list[str], env: dict[str, str | bytes], stdout: str, stderr: str,
                      cwd: Path) -> tuple[int, bytes, bytes]:
    """Run with stdout/stderr each "capture", "full" (/dev/full), "null" (/dev/null) or "closed"."""
    redirect = {"capture": "", "full": "{fd}>/dev/full", "null": "{fd}>/dev/null", "closed": "{fd}>&-"}
    shell = " ".join([shlex.join(argv), redirect[stdout].format(fd=1), redirect[stderr].format(fd=2)])
    result = subprocess.run(["bash", "-c", shell], env=env, cwd=cwd, capture_output=True, timeout=60)
    return result.returncode, result.stdout, result.stderr


@needs_dev_full
def test_export_with_stderr_full_delivers_and_exits_0(canary: Canary, tmp_path) -> None:
    ws = Workspace(tmp_path)
    bash_env = ws.tmp / "bash_env"
    env = ws.base_env(CIRCLECI="true", BASH_ENV=str(bash_env), ASC_PRIVATE_KEY=canary.pem(),
                      ASC_KEY_ID=GOOD_KEY_ID, ASC_ISSUER_ID=GOOD_ISSUER)
    code, out, err = _run_with_streams(_cli("generate", "--verbose", "--export"), env, "capture", "full", ws.work)
    assert code == 0 and out == b"" and err == b""
    assert b"export APP_STORE_CONNECT_TOKEN=" in bash_env.read_bytes()


@pytest.mark.parametrize("stderr", [pytest.param("full", marks=needs_dev_full), "closed"])
def test_a_configuration_error_keeps_its_exit_code_when_stderr_cannot_take_it(canary: Canary, tmp_path,
                                                                             stderr: str) -> None:
    ws = Workspace(tmp_path)
    env = ws.base_env(ASC_PRIVATE_KEY=canary.pem(), ASC_ISSUER_ID=GOOD_ISSUER)  # no key ID
    code, out, err = _run_with_streams(_cli("generate", "--lifetime", "99h"), env, "capture", stderr, ws.work)
    assert (code, out, err) == (3, b"", b"")


@pytest.mark.parametrize("stdout", [pytest.param("full", marks=needs_dev_full), "closed"])
def test_the_action_with_an_unwritable_log_fails_cleanly_and_exports_nothing(canary: Canary, tmp_path,
                                                                           stdout: str) -> None:
    _require_action()
    ws = Workspace(tmp_path)
    code, out, err = _run_with_streams(action_command(), _github_env(ws, canary), stdout, "capture", ws.work)
    assert code == OUTPUT_ERROR, err[-500:]
    assert b"Traceback" not in err and err == b""
    for file_command in (ws.github_env, ws.github_output, ws.github_path):
        assert not file_command.exists() or file_command.read_bytes() == b""
    assert [p for p in ws.runner_temp.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("stderr", ["null", "closed"])
def test_generate_on_github_never_prints_an_unmasked_token(canary: Canary, tmp_path, stderr: str) -> None:
    """The mask goes to stderr; with stderr gone, ``$(xctoken generate)`` must not get a bare token
    (nor the ``::add-mask::`` line, which the old fallback to stdout put into the capture)."""
    ws = Workspace(tmp_path)
    code, out, err = _run_with_streams(_cli("generate"), _github_env(ws, canary), "capture", stderr, ws.work)
    assert code == OUTPUT_ERROR
    assert out == b"" and err == b""


def test_every_documented_exit_code_is_in_the_readme() -> None:
    from xctoken.errors import EXIT_CODES

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| exit code | meaning |"):]
    table = table[:table.index("\n\n")]
    documented = {int(code) for row in table.splitlines()[2:] for code in row.split("|")[1].split(",")}
    assert documented == set(EXIT_CODES)
    assert {129, 130, 143} <= set(EXIT_CODES)


@pytest.mark.parametrize("stdout", ["null", "closed"])
def test_export_on_github_refuses_when_its_masks_cannot_reach_the_runner(canary: Canary, tmp_path,
                                                                        stdout: str) -> None:
    ws = Workspace(tmp_path)
    code, out, err = _run_with_streams(_cli("generate", "--export"), _github_env(ws, canary), stdout, "capture",
                                       ws.work)
    assert code == OUTPUT_ERROR and b"Traceback" not in err
    assert ws.github_env.read_bytes() == b""


def test_decode_refuses_a_bad_expires_within_before_reading_the_token(tmp_path) -> None:
    result = subprocess.run(_cli("decode", "-", "--expires-within", "soon"), input=b"not a token",
                            capture_output=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                  "PYTHONPATH": str(ROOT)})
    assert result.returncode == 3 and b"--expires-within" in result.stderr and result.stdout == b""
