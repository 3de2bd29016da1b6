"""50 runs at once appending to one file leave 50 complete records, read back as the CI would.

Each record is parsed with the reading CI's rules (GitHub's runner: ``NAME=VALUE``
when ``=`` comes before any ``<<``, else a heredoc that ends at the first line
equal to its delimiter; CircleCI: bash ``export`` lines; Codemagic: the same
heredoc form; GitLab: ``NAME=value`` lines), and every token must verify with
the canary key.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import Workspace
from .leaks import Canary

RUNS = 50


def parse_github_file_command(text: str) -> list[tuple[str, str]]:
    """The runner's parser for GITHUB_ENV / GITHUB_OUTPUT (actions/runner FileCommandManager)."""
    records: list[tuple[str, str]] = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line == "":
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            records.append((line[:equals], line[equals + 1:]))
            continue
        assert heredoc > 0, f"not a record: {line!r:.80}"
        name, delimiter = line[:heredoc], line[heredoc + 2:]
        value: list[str] = []
        while True:
            assert index < len(lines), f"heredoc for {name} never ends: a torn record"
            current = lines[index]
            index += 1
            if current == delimiter:
                break
            value.append(current)
        records.append((name, "\n".join(value)))
    return records


def _run_many(ws: Workspace, argv: list[str], env: dict[str, str | bytes]) -> list[subprocess.CompletedProcess[bytes]]:
    processes = [subprocess.Popen(argv, env=env, cwd=ws.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(RUNS)]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(argv, process.returncode, stdout, stderr))
    return results


def _env(ws: Workspace, canary: Canary, **extra: str) -> dict[str, str | bytes]:
    return ws.base_env(CI="true", ASC_PRIVATE_KEY=canary.pem(), ASC_KEY_ID=GOOD_KEY_ID,
                       ASC_ISSUER_ID=GOOD_ISSUER, **extra)


def _assert_tokens(values: list[str], canary: Canary) -> None:
    assert all(canary.verifies(v.encode()) for v in values)
    assert len(set(values)) == len(values)


def test_fifty_github_exports_to_one_env_file(tmp_path: Path) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    env = _env(ws, canary, GITHUB_ACTIONS="true", GITHUB_ENV=str(ws.github_env))
    results = _run_many(ws, [sys.executable, "-m", "xctoken", "generate", "--export", "TOKEN"], env)
    assert [r.returncode for r in results] == [0] * RUNS, results[0].stderr
    records = parse_github_file_command(ws.github_env.read_text())
    assert len(records) == RUNS
    assert {name for name, _ in records} == {"TOKEN"}
    _assert_tokens([value for _, value in records], canary)


@pytest.mark.parametrize("ci", ["circleci", "codemagic"])
def test_fifty_exports_to_one_sourced_env_file(tmp_path: Path, ci: str) -> None:
    canary, ws = Canary.new(), Workspace(tmp_path)
    target = ws.runner_temp / "env.sh"
    marker = {"circleci": {"CIRCLECI": "true", "BASH_ENV": str(target)},
              "codemagic": {"CM_BUILD_ID": "b1", "CM_ENV": str(target)}}[ci]
    results = _run_many(ws, [sys.executable, "-m", "xctoken", "generate", "--export", "TOKEN"],
                        _env(ws, canary, **marker))
    assert [r.returncode for r in results] == [0] * RUNS, results[0].stderr
    text = target.read_text()
    if ci == "codemagic":
        values = [value for name, value in parse_github_file_command(text) if name == "TOKEN"]
    else:
        values = []
        for line in text.split("\n"):
            if line:
                words = shlex.split(line)
                assert words[0] == "export" and words[1].startswith("TOKEN="), line[:40]
                values.append(words[1][len("TOKEN="):])
    assert len(values) == RUNS
    _assert_tokens(values, canary)


def test_fifty_dotenv_appends_keep_every_record_whole(tmp_path: Path) -> None:
    """GitLab caps a dotenv report at 5 KB, so not all 50 fit: each run succeeds or fails cleanly."""
    canary, ws = Canary.new(), Workspace(tmp_path)
    report = ws.work / "token.env"
    argv = [sys.executable, "-m", "xctoken", "generate", "--export", "TOKEN", "--dotenv", str(report)]
    results = _run_many(ws, argv, _env(ws, canary, GITLAB_CI="true"))
    succeeded = [r for r in results if r.returncode == 0]
    for failed in (r for r in results if r.returncode != 0):
        assert failed.returncode == 7
        lines = [line for line in failed.stderr.decode().split("\n") if line.startswith("xctoken: error: ")]
        assert len(lines) == 1 and "5 KB" in lines[0], failed.stderr
    text = report.read_text()
    assert text.endswith("\n")
    records = [line.split("=", 1) for line in text.split("\n") if line]
    assert all(name == "TOKEN" for name, _ in records)
    assert len(records) == len(succeeded) >= 1
    _assert_tokens([value for _, value in records], canary)


def test_fifty_processes_through_append_records(tmp_path: Path) -> None:
    """The primitive itself: 50 writers of multi-line records, one file, no interleaving."""
    target = tmp_path / "records"
    code = ("import sys; from xctoken.files import append_records; n = sys.argv[1]; "
            "append_records([(sys.argv[2], f'R{n}<<EOF{n}\\n' + ('x' * 3000 + '\\n') * 3 + f'EOF{n}\\n')], "
            "create=True)")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(n), str(target)]) for n in range(RUNS)]
    assert [p.wait(timeout=300) for p in processes] == [0] * RUNS
    records = parse_github_file_command(target.read_text())
    assert sorted(name for name, _ in records) == sorted(f"R{n}" for n in range(RUNS))
    assert all(value == "\n".join(["x" * 3000] * 3) for _, value in records)


def test_appends_wait_for_another_writers_lock(tmp_path: Path) -> None:
    """append_records holds an exclusive flock while it writes (and while it would roll back),
    so a rollback can only remove its own bytes. Here the test holds the lock, lets the writer
    start, appends a line of its own, then releases: the writer's record must come after it."""
    import fcntl
    import time

    target = tmp_path / "env"
    target.write_text("")
    script = ("import sys; from xctoken.files import append_records; print('ready', flush=True); "
              "append_records([(sys.argv[1], 'B=2\\n')])")
    with open(target, "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        writer = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        time.sleep(0.5)  # room for a writer that ignored the lock to get in first (no time is asserted)
        holder.write("A=1\n")
        holder.flush()
        fcntl.flock(holder, fcntl.LOCK_UN)
    assert writer.wait(timeout=60) == 0
    assert target.read_text() == "A=1\nB=2\n"


def test_records_for_one_file_go_out_together_in_order(tmp_path: Path) -> None:
    from xctoken.files import append_records

    out, env = tmp_path / "out", tmp_path / "env"
    append_records([(out, "a=1\n"), (env, "E=1\n"), (out, "b=2\n")], create=True)
    assert out.read_text() == "a=1\nb=2\n" and env.read_text() == "E=1\n"
