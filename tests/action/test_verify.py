"""The action's ``verify`` input: ask Apple once (a local HTTPS fake here) before handing anything over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TestKey as AscKey
from trust.leaks import Canary
from trust.test_doctor import Answer, FakeApple

from .conftest import RunnerStep, commands, team_inputs


@pytest.fixture
def apple(test_key: AscKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApple]:
    (tmp_path / "fake").mkdir()
    fake = FakeApple(Canary(test_key.private_key), tmp_path / "fake")
    monkeypatch.setenv("SSL_CERT_FILE", str(fake.ca_file))
    yield fake
    fake.close()


def _step(step: RunnerStep, test_key: AscKey, apple: FakeApple, verify: str) -> tuple[int, str]:
    step.inputs = team_inputs(test_key, verify=verify)
    step.extra_env = {"XCTOKEN_API_BASE": apple.base}
    return step.run()


def test_verify_true_accepted_is_in_the_summary(step: RunnerStep, test_key: AscKey, apple: FakeApple) -> None:
    code, stdout = _step(step, test_key, apple, "true")
    assert code == 0, stdout
    assert len(apple.received) == 1 and "Verified with Apple | accepted by Apple (200" in step.raw("summary")


def test_verify_true_refused_fails_the_step_naming_the_cause(step: RunnerStep, test_key: AscKey,
                                                             apple: FakeApple) -> None:
    apple.answer = Answer(403, {"errors": [{"code": "FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED"}]})
    code, stdout = _step(step, test_key, apple, "true")
    assert code == 8
    [error] = commands(stdout, "error")
    assert "Apple refused the credentials (403" in error and "agreement" in error
    assert step.file_commands_untouched() and not (step.runner_temp / "xctoken").exists()


def test_verify_true_unreachable_is_a_warning_strict_a_failure(step: RunnerStep, test_key: AscKey,
                                                               apple: FakeApple, tmp_path: Path) -> None:
    apple.close()  # nothing answers any more
    code, stdout = _step(step, test_key, apple, "true")
    assert code == 0, stdout
    assert any("could not be asked" in w for w in commands(stdout, "warning"))
    (tmp_path / "strict").mkdir()
    strict = RunnerStep(tmp_path / "strict")
    code, stdout = _step(strict, test_key, apple, "strict")
    assert code == 9 and strict.file_commands_untouched()


def test_verify_false_makes_no_request(step: RunnerStep, test_key: AscKey, apple: FakeApple) -> None:
    code, stdout = _step(step, test_key, apple, "false")
    assert code == 0 and apple.received == []


def test_the_probe_token_is_masked_before_it_is_sent(step: RunnerStep, test_key: AscKey, apple: FakeApple) -> None:
    sent: list[str] = []
    original = apple.verify

    def record(token: str) -> dict[str, object]:
        sent.append(token)
        return original(token)

    apple.verify = record  # type: ignore[method-assign]
    code, stdout = _step(step, test_key, apple, "true")
    assert code == 0, stdout
    [probe] = sent
    assert probe != step.outputs()["token"] and probe in commands(stdout, "add-mask")
