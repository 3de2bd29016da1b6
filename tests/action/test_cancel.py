"""A cancel (SIGTERM) while the action writes its file commands: all records or none, never half.

The window between two appends is microseconds wide, so the test opens it on
purpose: the first write sends the process a real SIGTERM. The signal must wait
until every record is in; then the step stops (exit 143) with outputs, env and
the key files they point to all in place.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import TestKey as AscKey

from xctoken import files
from xctoken.console import guard_process

from .conftest import RunnerStep, team_inputs


@pytest.mark.skipif(not (hasattr(signal, "pthread_sigmask") and os.path.isdir("/proc/self/fd")),
                    reason="POSIX signal masks and /proc")
def test_sigterm_between_two_appends_waits_until_all_records_are_in(step: RunnerStep, test_key: AscKey,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    sent: list[int] = []

    def write_then_cancel(fd: int, data: bytes) -> int:
        written = real_write(fd, data)
        target = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ""
        if not sent and target.startswith(str(step.files)):  # the first file-command append
            sent.append(fd)
            os.kill(os.getpid(), signal.SIGTERM)  # the runner cancels the job right now
        return written

    previous = signal.getsignal(signal.SIGTERM)
    guard_process()
    monkeypatch.setattr(files.os, "write", write_then_cancel)
    step.inputs = team_inputs(test_key)
    try:
        with pytest.raises(SystemExit) as stopped:
            step.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert sent and stopped.value.code == 143
    outputs, exported = step.outputs(), step.exported()
    assert outputs["token"] == exported["APP_STORE_CONNECT_TOKEN"]
    key_file = Path(outputs["private-key-path"])
    assert key_file.is_file() and exported["ASC_PRIVATE_KEY_PATH"] == str(key_file)
    assert step.raw("path").strip() == str(step.runner_temp / "xctoken" / "bin")
