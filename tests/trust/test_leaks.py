"""The leak scanner catches what it must (planted leaks), and real runs give it nothing to catch.

The corpus (test_corpus.py) runs every entry point with mangled-but-valid keys
through the scanner too; here are the remaining sinks: --output, the json and
shell formats, ``check``, ``decode``, the action's key files, and the library's
reprs, each with debug and verbose on.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys

import pytest

from .corpus import GOOD_ISSUER, GOOD_KEY_ID
from .entrypoints import DEBUG_ENV, Action, Workspace, action_available
from .leaks import Canary, Capture, find_leaks


@pytest.fixture
def canary() -> Canary:
    return Canary.new()


def _signed(canary: Canary) -> str:
    from xctoken import TokenRequest, load_private_key, mint_token

    return mint_token(TokenRequest(key_id=GOOD_KEY_ID, issuer_id=GOOD_ISSUER),
                      load_private_key(canary.pem())).value


# --- the scanner itself: each planted leak is reported, clean captures are not


def test_the_scanner_accepts_a_clean_capture(canary: Canary) -> None:
    capture = Capture(stdout=b"", stderr=b"xctoken: error: the key ID is missing\n",
                      files={"/w/notes": b"-----BEGIN PRIVATE KEY-----\n"})
    assert find_leaks(capture, canary) == []


@pytest.mark.parametrize("rendering", ["pem-line", "der-hex", "b64-file", "scalar-hex", "sec1-window"])
def test_the_scanner_finds_key_material_in_stderr(canary: Canary, rendering: str) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = canary.pem()
    text = {
        "pem-line": pem.splitlines()[2],
        "der-hex": "oops " + canary.der().hex()[30:47] + " oops",
        "b64-file": base64.b64encode(pem.encode()).decode()[100:117],
        "scalar-hex": format(canary.private_key.private_numbers().private_value, "064x")[5:21],
        "sec1-window": canary.pem(serialization.PrivateFormat.TraditionalOpenSSL).splitlines()[1][10:26],
    }[rendering]
    problems = find_leaks(Capture(stderr=f"xctoken: error: {text}\n".encode()), canary)
    assert problems and "key material in stderr" in problems[0]


def test_the_scanner_finds_key_material_in_files_and_argv(canary: Canary) -> None:
    line = canary.pem().splitlines()[1].encode()
    assert find_leaks(Capture(files={"/w/x.tmp": line}), canary)
    assert find_leaks(Capture(argvs=[["envman", "add", "--value", line.decode()]]), canary)
    assert find_leaks(Capture(stdins=[("envman", line)]), canary)
    # ...except in a file it was asked to write, and in GitHub mask commands.
    assert find_leaks(Capture(files={"/w/AuthKey.p8": line}), canary, key_allowed_in=["/w/AuthKey.p8"]) == []
    assert find_leaks(Capture(stdout=b"::add-mask::" + line + b"\n"), canary, github=True) == []
    assert find_leaks(Capture(stdout=b"::add-mask::" + line + b"\n"), canary, github=False)


def test_the_scanner_enforces_where_a_token_may_go(canary: Canary) -> None:
    token = _signed(canary).encode()
    signature_run = token.rsplit(b".", 1)[1][20:36]
    assert find_leaks(Capture(stderr=token), canary)
    assert find_leaks(Capture(stdout=token + b"\n"), canary)  # not allowed unless said so
    assert find_leaks(Capture(stdout=token + b"\n"), canary, token_on_stdout=True) == []
    assert find_leaks(Capture(argvs=[["buildkite-agent", token.decode()]]), canary)
    # A partial token (16 characters of its signature) is found once the token is known.
    assert find_leaks(Capture(stderr=signature_run, files={"/f/env": token}), canary,
                      github=True, token_allowed_in=["/f/env"])
    # GitHub: the mask must come first, and the summary never holds it.
    masked = b"::add-mask::" + token + b"\n"
    assert find_leaks(Capture(stdout=masked, files={"/f/env": b"T<<d\n" + token + b"\nd\n"}), canary,
                      github=True, token_allowed_in=["/f/env"]) == []
    assert find_leaks(Capture(stdout=b"x " + token + b"\n" + masked), canary, github=True)
    assert find_leaks(Capture(stdout=b"", files={"/f/env": token}), canary, github=True,
                      token_allowed_in=["/f/env"])
    assert find_leaks(Capture(stdout=masked, files={"/f/summary": token}), canary, github=True,
                      token_allowed_in=["/f/summary"], summary_files=["/f/summary"])
    assert find_leaks(Capture(files={"/w/other": token}), canary, token_allowed_in=["/w/out"])
    # GitHub, a plain generate: the mask on stderr lets the token be printed on stdout,
    # and nothing else may come with it on stderr.
    assert find_leaks(Capture(stdout=token + b"\n", stderr=masked), canary, github=True,
                      token_on_stdout=True) == []
    assert find_leaks(Capture(stdout=token + b"\n"), canary, github=True, token_on_stdout=True)
    assert find_leaks(Capture(stdout=token + b"\n", stderr=masked + b"note " + token + b"\n"), canary,
                      github=True, token_on_stdout=True)
    assert find_leaks(Capture(stdins=[("envman", token)]), canary, token_stdin_ok=["envman"]) == []


def test_a_token_from_another_key_is_not_taken_for_ours(canary: Canary) -> None:
    other = _signed(Canary.new()).encode()
    assert Capture(stderr=other).tokens(canary) == set()


# --- real runs


def _cli_env(ws: Workspace, canary: Canary, **extra: str) -> dict[str, str | bytes]:
    return ws.base_env(**DEBUG_ENV, ASC_PRIVATE_KEY=canary.pem(), ASC_KEY_ID=GOOD_KEY_ID,
                       ASC_ISSUER_ID=GOOD_ISSUER, **extra)


@pytest.mark.parametrize("fmt", ["token", "json", "shell"])
def test_generate_to_stdout_prints_the_token_there_only(canary: Canary, tmp_path, fmt: str) -> None:
    ws = Workspace(tmp_path)
    capture = ws.run([sys.executable, "-m", "xctoken", "generate", "--verbose", "--format", fmt],
                     _cli_env(ws, canary))
    assert capture.returncode == 0, capture.stderr
    tokens = capture.tokens(canary)
    assert len(tokens) == 1
    if fmt == "token":
        assert capture.stdout == tokens.pop() + b"\n"
    assert find_leaks(capture, canary, token_on_stdout=True) == []
    assert capture.files == {}


@pytest.mark.parametrize("output", [False, True])
def test_generate_on_github_masks_the_token_on_stderr_first(canary: Canary, tmp_path, output: bool) -> None:
    """A plain ``generate`` on a GitHub runner (``TOKEN=$(xctoken generate)``) registers the mask on
    stderr, which the runner reads for workflow commands too and ``$(...)`` does not capture."""
    ws = Workspace(tmp_path)
    target = ws.work / "token.txt"
    capture = ws.run([sys.executable, "-m", "xctoken", "generate", *(["-o", str(target)] if output else [])],
                     _cli_env(ws, canary, GITHUB_ACTIONS="true", CI="true"))
    assert capture.returncode == 0, capture.stderr
    (token,) = capture.tokens(canary)
    assert capture.stderr.split(b"\n")[0] == b"::add-mask::" + token
    assert capture.stdout == (b"" if output else token + b"\n")
    assert find_leaks(capture, canary, github=True, token_on_stdout=not output,
                      token_allowed_in=[target] if output else []) == []


def test_generate_output_file_holds_the_token_and_nothing_else_does(canary: Canary, tmp_path) -> None:
    ws = Workspace(tmp_path)
    target = ws.work / "token.txt"
    capture = ws.run([sys.executable, "-m", "xctoken", "generate", "--verbose", "-o", str(target)],
                     _cli_env(ws, canary))
    assert capture.returncode == 0, capture.stderr
    assert list(capture.files) == [str(target)]
    assert len(capture.tokens(canary)) == 1
    assert find_leaks(capture, canary, token_allowed_in=[target]) == []
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_check_never_shows_its_probe_token(canary: Canary, tmp_path) -> None:
    ws = Workspace(tmp_path)
    key_file = ws.work / f"AuthKey_{GOOD_KEY_ID}.p8"
    key_file.write_text(canary.pem())
    os.chmod(key_file, 0o644)  # so check warns (and names the file, not its content)
    capture = ws.run([sys.executable, "-m", "xctoken", "check", "--key", str(key_file),
                      "--issuer-id", GOOD_ISSUER], ws.base_env(**DEBUG_ENV))
    assert capture.returncode == 0, capture.stderr
    assert b"chmod 600" in capture.stderr
    assert capture.tokens(canary) == set()
    assert find_leaks(capture, canary) == []


@pytest.mark.parametrize("as_json", [False, True])
def test_decode_shows_claims_but_not_the_token(canary: Canary, tmp_path, as_json: bool) -> None:
    ws = Workspace(tmp_path)
    token = _signed(canary)
    argv = [sys.executable, "-m", "xctoken", "decode", "-", *(["--json"] if as_json else [])]
    capture = ws.run(argv, _cli_env(ws, canary), stdin=token.encode())
    assert capture.returncode == 0, capture.stderr
    assert GOOD_ISSUER.encode() in capture.stdout  # it did decode
    assert find_leaks(capture, canary, extra_tokens=[token.encode()]) == []


def test_library_reprs_hide_the_token_and_key(canary: Canary) -> None:
    from xctoken import TokenRequest, load_private_key, mint_token

    key = load_private_key(canary.pem())
    token = mint_token(TokenRequest(key_id=GOOD_KEY_ID, issuer_id=GOOD_ISSUER), key)
    shown = f"{token!r} {token} {key!r} {key.form!r} {token.summary()!r}".encode()
    assert find_leaks(Capture(stderr=shown), canary, extra_tokens=[token.value.encode()]) == []


def test_the_reprs_of_what_the_edges_hold_hide_the_token_and_key(canary: Canary) -> None:
    """What a debugger or an error reporter with locals would print: the export job, the action's
    and the Bitrise step's inputs, a resolved configuration."""
    from xctoken import TokenRequest, load_private_key, mint_token
    from xctoken.action import read_inputs as action_inputs
    from xctoken.bitrise_step import read_inputs as step_inputs
    from xctoken.ci import ExportJob

    pem = canary.pem()
    key = load_private_key(pem)
    token = mint_token(TokenRequest(key_id=GOOD_KEY_ID, issuer_id=GOOD_ISSUER), key)
    job = ExportJob("APP_STORE_CONNECT_TOKEN", token, {"ASC_PRIVATE_KEY": pem}, key)
    shown = " ".join([repr(job), repr(action_inputs({"INPUT_PRIVATE-KEY": pem, "INPUT_KEY-ID": GOOD_KEY_ID})),
                      repr(step_inputs({"private_key": pem, "key_id": GOOD_KEY_ID}))]).encode()
    assert GOOD_KEY_ID.encode() in shown  # the reprs say something useful
    assert find_leaks(Capture(stderr=shown), canary, extra_tokens=[token.value.encode()]) == []


def test_action_key_files_hold_the_key_and_nothing_else_does(canary: Canary, tmp_path) -> None:
    if not action_available():
        pytest.skip("the GitHub action (xctoken.action) does not exist yet")
    ws = Workspace(tmp_path)
    settings = {"key": base64.b64encode(canary.pem().encode()).decode()}
    env_extra = {"INPUT_WRITE-KEY-FILE": "true"}
    entry = Action()
    original = ws.base_env

    def base_env(**extra: str | bytes) -> dict[str, str | bytes]:
        return original(**extra, **env_extra)

    ws.base_env = base_env  # type: ignore[method-assign]
    capture = entry.run(ws, canary, settings)
    assert capture.returncode == 0, capture.stdout[-500:]
    key_dir = ws.runner_temp / "xctoken"
    # The launcher in bin/ holds no secret; the key and fastlane's JSON are the two key files.
    key_files = [p for p in capture.files if p.startswith(str(key_dir)) and not p.startswith(str(key_dir / "bin"))]
    assert len(key_files) == 2, sorted(capture.files)
    for path in key_files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    outputs = ws.github_output.read_text()
    assert str(key_dir / "private_keys") in outputs
    expected = entry.expectation(ws)
    assert find_leaks(capture, canary, github=True, key_allowed_in=key_files,
                      token_allowed_in=expected.token_files, summary_files=expected.summary_files) == []
    json_file = next(p for p in key_files if p.endswith(".json"))
    assert json.loads(open(json_file).read())["key_id"] == GOOD_KEY_ID
