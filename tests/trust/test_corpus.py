"""The hostile matrix: every bad input through every entry point, with debug and verbose on.

For each (entry point, case): the documented exit code, exactly one clear error
line that is about the right setting (``::error`` for the action), no
traceback, nothing on stdout but ``::add-mask::`` lines, no file written
(GITHUB_OUTPUT, GITHUB_ENV, the summary, a dotenv report, $BASH_ENV, $CM_ENV,
temporary files: all or nothing), no helper program run, and no byte of the
canary key (or of the wrong-kind key given instead) anywhere.
"""

from __future__ import annotations

import re

import pytest

from .corpus import BAD_CASES, GOOD_CASES, Case
from .entrypoints import Action, EntryPoint, Workspace, action_available, entry_points
from .leaks import Canary, Capture, find_leaks

ENTRY_POINTS = entry_points()


def _settings(case: Case, canary: Canary) -> dict[str, object]:
    settings = {name: (value(canary) if callable(value) else value) for name, value in case.others.items()}
    settings[case.field] = case.build(canary)
    return settings


def _prepare(entry: EntryPoint, case: Case, canary: Canary) -> dict[str, object]:
    if isinstance(entry, Action) and not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")
    if case.field == "export_name" and not entry.exports:
        pytest.skip(f"{entry.name} exports no variable")
    if case.field == "output_path" and not entry.output_path_via:
        pytest.skip(f"{entry.name} is given no path to write the token to")
    if case.github_only and not entry.name.endswith("github") and not isinstance(entry, Action):
        pytest.skip(f"{case.id} is a GitHub runner rule")
    if entry.name in case.not_for:
        pytest.skip(f"{case.id} through {entry.name}: {case.not_for[entry.name]}")
    settings = _settings(case, canary)
    why = entry.unrepresentable(settings)  # type: ignore[arg-type]
    if why:
        pytest.skip(f"not representable through {entry.name}: {why}")
    return settings


def error_lines(entry: EntryPoint, capture: Capture) -> list[str]:
    text = capture.stderr.decode("utf-8", "replace")
    if isinstance(entry, Action):
        # The runner reads annotations from stdout (and stderr); accept either.
        text += capture.stdout.decode("utf-8", "replace")
    # Split on LF only, as the runner does: str.splitlines() would also break on \x0b, \x1c, ...
    return [line for line in text.split("\n") if line.startswith(entry.error_prefix)]


def check_refusal(entry: EntryPoint, case: Case, capture: Capture, canary: Canary) -> list[str]:
    """Every way this refused run breaks the rules, as readable lines."""
    problems: list[str] = []
    expected_exit = case.exit_code_for(entry.name)
    if capture.returncode != expected_exit:
        problems.append(f"exit code {capture.returncode}, documented {expected_exit}")
    stderr = capture.stderr.decode("utf-8", "replace")
    if "Traceback" in stderr or "Traceback" in capture.stdout.decode("utf-8", "replace"):
        problems.append("a traceback was printed")
    errors = error_lines(entry, capture)
    if len(errors) != 1:
        problems.append(f"{len(errors)} error lines, expected exactly one: {errors!r:.300}")
    else:
        line = errors[0]
        mentions = case.mentions.replace("{via}", entry.output_path_via)
        if not re.search(re.escape(mentions), line, re.IGNORECASE):
            problems.append(f"the error line does not mention {mentions!r}: {line!r:.300}")
        if len(line) > 600 or any(ord(c) < 32 for c in line):
            problems.append(f"the error line is not one short clean line: {line!r:.300}")
    other = [line for line in stderr.split("\n")
             if not line.startswith(("xctoken: ", "::")) and line.strip()]
    if other:
        problems.append(f"stderr lines that are not xctoken's own: {other!r:.300}")
    stdout_lines = [line for line in capture.stdout.decode("utf-8", "replace").split("\n")
                    if not line.startswith("::add-mask::")
                    and not (isinstance(entry, Action) and line.startswith("::"))]
    if any(line.strip() for line in stdout_lines):
        problems.append(f"stdout holds more than masks: {stdout_lines!r:.200}")
    if capture.files:
        problems.append(f"files written although the run failed: {sorted(capture.files)}")
    if capture.argvs:
        problems.append(f"helper programs run although the run failed: {capture.argvs}")
    for key in [canary, *case.extra_secrets(canary)]:
        problems += find_leaks(capture, key, github=True)
    return problems


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.id for c in BAD_CASES])
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=[e.name for e in ENTRY_POINTS])
def test_bad_input_is_refused_cleanly(entry: EntryPoint, case: Case, tmp_path) -> None:
    canary = Canary.new()
    settings = _prepare(entry, case, canary)
    capture = entry.run(Workspace(tmp_path), canary, settings)  # type: ignore[arg-type]
    assert check_refusal(entry, case, capture, canary) == []


@pytest.mark.parametrize("case", GOOD_CASES, ids=[c.id for c in GOOD_CASES])
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=[e.name for e in ENTRY_POINTS])
def test_mangled_but_valid_input_mints_a_token_without_leaking(entry: EntryPoint, case: Case, tmp_path) -> None:
    canary = Canary.new()
    settings = _prepare(entry, case, canary)
    ws = Workspace(tmp_path)
    capture = entry.run(ws, canary, settings)  # type: ignore[arg-type]
    assert capture.returncode == 0, capture.stderr.decode("utf-8", "replace")[-500:]
    tokens = capture.tokens(canary)
    assert len(tokens) == 1, f"expected one token signed by the canary, found {len(tokens)}"
    expected = entry.expectation(ws)
    assert find_leaks(capture, canary, github=expected.github, token_on_stdout=expected.token_on_stdout,
                      token_allowed_in=expected.token_files, token_stdin_ok=expected.token_stdin_ok,
                      summary_files=expected.summary_files, key_allowed_in=expected.key_files) == []


def test_the_corpus_is_big_enough() -> None:
    # The issue asks for at least 50 bad inputs; each must be distinct.
    assert len(BAD_CASES) >= 50
    assert len({c.id for c in BAD_CASES}) == len(BAD_CASES)
    assert {c.field for c in BAD_CASES} == {"key", "key_id", "issuer_id", "lifetime", "scope", "export_name",
                                            "output_path"}
