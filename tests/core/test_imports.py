"""What ``xctoken generate`` imports on its way to a token: a listed set, so start time cannot creep.

A test of modules, not of time: every module here is one the plain CLI pays
for on every call. The service profiles, the doctor (urllib, ssl), the CI
adapters, PyJWT and the cache are imported only by the commands that use them;
so are argparse (a plain ``generate`` command line is read without it: the
tests at the end prove both readings agree), tempfile (only ``--output`` writes
a file), datetime (only a printed date needs one) and shlex.

The whole set is checked, standard library included: whatever a script that only
loads the key with cryptography and signs (bench/minimal_cryptography.py) imports
in this same interpreter, plus the xctoken modules and the few standard modules
listed below. A new import on the way fails here, whatever module adds it.

pathlib is not among them (with fnmatch, ntpath and urllib.parse, which it imports, it
was about 3 ms of every start, issue #16): key and output paths are handled as text.
Every probe runs without ``site`` (``-S``), the dependencies put on the path instead:
the dev venv's editable-install finder, a .pth that ``site`` runs, imports pathlib
into every process of that venv and would hide it here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ISSUER_ID, KEY_ID, ROOT, TestKey
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from xctoken import cli

GENERATE_PATH = {"xctoken", "xctoken.claims", "xctoken.cli", "xctoken.console", "xctoken.errors", "xctoken.files",
                 "xctoken.keys", "xctoken.settings", "xctoken.signing"}
# The standard modules generate uses beyond what cryptography itself imports (and what they import):
# signal and resource for guard_process (SIGTERM unwinds, no core file). Not fcntl: only a key read
# from a FIFO or a device needs it (to clear O_NONBLOCK), a key file does not.
GENERATE_STDLIB = ("signal", "resource", "errno", "stat")
# pathlib and what it brings (fnmatch, ntpath, urllib.parse): key paths are text (os.path), issue #16.
PATHLIB = ("pathlib", "fnmatch", "ntpath", "urllib")
NEVER_ON_THE_WAY = ("jwt", "ssl", "urllib.request", "http.client", "xctoken.services", "xctoken.doctor",
                    "xctoken.ci", "xctoken.cache", "xctoken.auth", "xctoken.inspection",
                    "argparse", "gettext", "locale", "tempfile", "shutil", "datetime", "shlex", *PATHLIB)
# Without site (-S), so no .pth runs (the dev venv's editable finder imports pathlib): the
# dependencies and the source tree are put on the path instead, as a regular install has them.
PROBE_PATH = os.pathsep.join(dict.fromkeys([str(ROOT), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]))

# The same helpers in each probe, so they weigh the same on both sides.
PROBE = """
import contextlib, io, json, sys
from xctoken.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
SCRIPT_PROBE = """
import contextlib, io, json, sys
script, sys.argv = sys.argv[1], sys.argv[1:]
with contextlib.redirect_stdout(io.StringIO()):
    exec(compile(open(script).read(), script, "exec"), {"__name__": "__main__"})
print(json.dumps({"code": 0, "modules": sorted(sys.modules)}))
"""


def loaded(*args: str, env: dict[str, str], probe: str = PROBE) -> tuple[int, set[str]]:
    result = subprocess.run([sys.executable, "-S", "-c", probe, *args], env={**env, "PYTHONPATH": PROBE_PATH},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["code"], set(data["modules"])


def allowed_modules(key_path: Path) -> set[str]:
    """What a token cannot be made without: the cryptography-only script's modules, the listed extras."""
    env = {"PATH": "/usr/bin:/bin"}
    _, floor = loaded(str(ROOT / "bench" / "minimal_cryptography.py"), str(key_path), KEY_ID, ISSUER_ID,
                      env=env, probe=SCRIPT_PROBE)
    _, extras = loaded(env=env, probe=f"import json, sys\nimport {', '.join(GENERATE_STDLIB)}\n"
                                      "print(json.dumps({'code': 0, 'modules': sorted(sys.modules)}))")
    return floor | extras | GENERATE_PATH


def test_generate_imports_only_what_a_token_needs(test_key: TestKey, tmp_path: Path) -> None:
    key_path = test_key.write(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "ASC_KEY_ID": test_key.key_id, "ASC_ISSUER_ID": ISSUER_ID,
           "ASC_PRIVATE_KEY_PATH": str(key_path)}
    code, modules = loaded("generate", env=env)
    assert code == 0
    assert {m for m in modules if m.split(".")[0] == "xctoken"} == GENERATE_PATH
    assert not [m for m in modules if m in NEVER_ON_THE_WAY or m.startswith(tuple(n + "." for n in NEVER_ON_THE_WAY))]
    assert modules - allowed_modules(key_path) == set()


@pytest.mark.parametrize("flags", [
    ["--key", "{key}", "--key-id", KEY_ID, "--issuer-id", ISSUER_ID],
    ["-k", "{key}", "--key-id", KEY_ID, "--issuer-id", ISSUER_ID, "--lifetime", "10m", "--scope", "GET /v1/apps",
     "--format", "token", "-n"],
])  # (--format json or shell print dates: they add datetime; --output adds tempfile)
def test_generate_with_flags_stays_on_the_listed_set(test_key: TestKey, tmp_path: Path, flags: list[str]) -> None:
    key_path = test_key.write(tmp_path)
    code, modules = loaded("generate", *(f.replace("{key}", str(key_path)) for f in flags),
                           env={"PATH": "/usr/bin:/bin"})
    assert code == 0
    assert modules - allowed_modules(key_path) == set()


def test_the_allowed_set_catches_a_new_import(test_key: TestKey, tmp_path: Path) -> None:
    # What the check above would see if generate needed argparse, tempfile or pathlib again.
    allowed = allowed_modules(test_key.write(tmp_path))
    _, modules = loaded(env={"PATH": "/usr/bin:/bin"},
                        probe="import json, sys, argparse, tempfile, datetime, pathlib\n"
                              "print(json.dumps({'code': 0, 'modules': sorted(sys.modules)}))")
    # (pathlib stopped importing urllib.parse in Python 3.13; fnmatch and ntpath it still does.)
    assert {"argparse", "tempfile", "datetime", "pathlib", "fnmatch", "ntpath"} <= modules - allowed


def test_the_probes_run_without_the_editable_finder() -> None:
    # The dev venv's finder (run by site from a .pth) imports pathlib into every process: a probe
    # that let it run would see pathlib on both sides and could not tell generate needs none.
    code, modules = loaded(env={"PATH": "/usr/bin:/bin"},
                           probe="import json, sys, cryptography, xctoken\n"
                                 "print(json.dumps({'code': 0, 'modules': sorted(sys.modules)}))")
    assert code == 0 and "site" not in modules and "pathlib" not in modules


def test_a_service_token_adds_only_the_profiles(test_key: TestKey, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "ASC_KEY_ID": test_key.key_id,
           "ASC_PRIVATE_KEY_PATH": str(test_key.write(tmp_path))}
    code, modules = loaded("generate", "--service", "apns", "--team-id", "DEF123GHIJ", env=env)
    assert code == 0
    added = {m for m in modules if m.split(".")[0] == "xctoken"} - GENERATE_PATH
    assert added == {"xctoken.services", "xctoken.services.apns"}
    assert "ssl" not in modules and "urllib.request" not in modules


def test_a_line_the_plain_reading_leaves_still_works_through_argparse(test_key: TestKey, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "ASC_ISSUER_ID": ISSUER_ID, "ASC_PRIVATE_KEY_PATH": str(test_key.write(tmp_path))}
    code, modules = loaded("generate", "--key-i", test_key.key_id, env=env)  # an abbreviation: argparse's to read
    assert code == 0
    assert "argparse" in modules


# --- the plain reading of generate's command line agrees with argparse's ---------------------------------


def _generate_parser():  # type: ignore[no-untyped-def]
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    return commands.choices["generate"]


def test_the_plain_reading_knows_every_option_of_generate_as_argparse_does() -> None:
    import argparse

    known = {**cli._GENERATE_VALUES, **cli._GENERATE_LISTS, **cli._GENERATE_FLAGS}
    left_to_argparse = {"-h", "--help", "--export"}
    seen = set()
    for action in _generate_parser()._actions:
        for option in action.option_strings:
            seen.add(option)
            if option in left_to_argparse:
                continue
            assert known.get(option) == action.dest, option
            if option in cli._GENERATE_FLAGS:
                assert isinstance(action, argparse._StoreTrueAction), option
            elif option in cli._GENERATE_LISTS:
                assert isinstance(action, argparse._AppendAction) and action.default == [], option
            else:
                assert isinstance(action, argparse._StoreAction) and action.nargs is None, option
                assert action.default == cli._GENERATE_DEFAULTS.get(action.dest), option
                assert tuple(action.choices or ()) == cli._GENERATE_CHOICES.get(action.dest, ()), option
            assert action.type is None, option
    assert set(known) | left_to_argparse == seen


OPTIONS = sorted({*cli._GENERATE_VALUES, *cli._GENERATE_LISTS, *cli._GENERATE_FLAGS, "--export", "-h", "--key-i",
                  "--iss", "-kx", "-nv", "--", "--version"})
VALUES = ["-", "", "x", "team", "individual", "json", "shell", "token", "-x", "--key", "a=b", "GET /v1/apps",
          "10m", "-5", "generate", " -k", "é", "a b"]
WORDS = st.one_of(st.sampled_from(OPTIONS), st.sampled_from(VALUES),
                  st.builds(lambda o, v: f"{o}={v}", st.sampled_from(OPTIONS), st.sampled_from(VALUES)),
                  st.text(max_size=6))


def _argparse_reading(argv: list[str]) -> dict[str, object] | None:
    try:
        namespace = cli.build_parser().parse_args(argv)
    except SystemExit:
        return None
    return vars(namespace)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WORDS, max_size=8))
@example(["--key", "k.p8", "--key-id", KEY_ID, "--issuer-id", ISSUER_ID])
@example(["--key=k.p8", "--scope", "GET /v1/apps", "--scope=GET /v1/builds", "-n", "-v", "--format", "json"])
@example(["-k", "-", "--key-type", "individual", "--cache", "--min-valid", "5m", "-o", "out"])
@example(["--key", ""])
@example(["--key", "a", "--key", "b"])
def test_the_plain_reading_is_argparse_s_reading_or_none(words: list[str]) -> None:
    argv = ["generate", *words]
    plain = cli._plain_generate(argv)
    if plain is None:
        return  # argparse reads it (tested everywhere else)
    expected = _argparse_reading(argv)
    assert expected is not None, f"argparse refuses what the plain reading took: {argv}"
    assert vars(plain) == expected


def test_the_plain_reading_takes_the_usual_lines() -> None:
    for argv in (["generate"], ["generate", "--key", "k.p8", "--key-id", KEY_ID, "--issuer-id", ISSUER_ID],
                 ["generate", "-k", "-", "--format=json", "--scope", "GET /v1/apps", "-n"],
                 ["generate", "--service", "apns", "--team-id", "DEF123GHIJ", "-o", "token.txt"]):
        plain = cli._plain_generate(argv)
        assert plain is not None and vars(plain) == _argparse_reading(argv), argv
    for argv in (["generate", "--help"], ["generate", "--export"], ["generate", "--key-i", "x"],
                 ["generate", "--format", "yaml"], ["generate", "--key"], ["generate", "--key", "-x"],
                 ["generate", "-kfile"], ["generate", "--cache=yes"], ["generate", "--", "x"], ["decode", "x"],
                 ["--version"], []):
        assert cli._plain_generate(argv) is None, argv
