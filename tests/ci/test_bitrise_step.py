"""The Bitrise step (step.yml + bitrise/step.sh), run the way Bitrise runs it: inputs as env vars.

envman cannot be installed here: a recording stand-in named ``envman`` is put
first on PATH (helpers.install_standin). A later step is then run the way
Bitrise runs one: with every variable the step added to the envstore (the
recorded ``envman add`` calls) in its environment.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from action.runner_protocol import verify_with_openssl  # openssl: a third implementation agrees
from conftest import ISSUER_ID, ROOT

from .helpers import install_standin, recorded, verify

if TYPE_CHECKING:
    from conftest import TestKey

STEP = yaml.safe_load((ROOT / "step.yml").read_text())
SCRIPT = ROOT / STEP["toolkit"]["bash"]["entry_file"]
TOOL_PATH = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])


def run_step(tmp_path: Path, path: str = TOOL_PATH, envman_exit: str = "0",
             **inputs: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    install_standin(tmp_path / "bin", "envman")
    log = tmp_path / "envman.log"
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {"PATH": os.pathsep.join([str(tmp_path / "bin"), path]), "STANDIN_LOG": str(log),
           "TMPDIR": str(tmp_path / "tmp"), "HOME": str(tmp_path), "STANDIN_EXIT": envman_exit, **inputs}
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    return result, recorded(log)


def envstore(calls: list[dict[str, object]]) -> dict[str, tuple[str, bool]]:
    """What the envstore holds after the recorded calls: name -> (value, sensitive)."""
    store: dict[str, tuple[str, bool]] = {}
    for call in calls:
        argv = call["argv"]
        assert isinstance(argv, list)
        assert "--value" not in argv  # values travel on stdin, never in argv
        if argv[0] == "add":
            store[argv[2]] = (str(call["stdin"]), "--sensitive" in argv)
        elif argv[0] == "unset":
            store.pop(argv[2], None)
    return store


def later_step(store: dict[str, tuple[str, bool]], *command: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, (value, _) in store.items()}
    env.setdefault("PATH", TOOL_PATH)
    return subprocess.run(list(command), env=env, capture_output=True, text=True, timeout=60)


def test_step_yml_declares_what_the_step_reads() -> None:
    names = [next(iter(item)) for item in STEP["inputs"]]
    assert names == ["key_id", "issuer_id", "private_key", "private_key_path", "key_type", "lifetime", "scope",
                     "variable_name", "mint_on_demand", "export_for"]
    source = (ROOT / "xctoken/bitrise_step.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|, )"([a-z_]+)"', source))
    assert read == set(names)
    private = next(item for item in STEP["inputs"] if "private_key" in item)
    assert private["opts"]["is_sensitive"] is True
    assert os.access(SCRIPT, os.X_OK)


def test_step_mints_and_adds_a_sensitive_variable(test_key: TestKey, tmp_path: Path) -> None:
    result, calls = run_step(tmp_path, key_id=test_key.key_id, issuer_id=ISSUER_ID, private_key=test_key.pem,
                             key_type="team", lifetime="10m", scope="GET /v1/apps\n",
                             variable_name="ASC_TOKEN", private_key_path="", mint_on_demand="no")
    assert result.returncode == 0, result.stderr
    [call] = calls
    assert call["argv"] == ["add", "--key", "ASC_TOKEN", "--sensitive"]
    claims = verify(str(call["stdin"]), test_key)
    assert claims["exp"] - claims["iat"] == 600  # type: ignore[operator]
    assert claims["scope"] == ["GET /v1/apps"]
    body = "".join(line for line in test_key.pem.splitlines() if not line.startswith("-----"))
    for output in (result.stdout, result.stderr):
        assert str(call["stdin"]) not in output and body[:40] not in output
    assert list((tmp_path / "tmp").iterdir()) == []  # mint_on_demand: no: nothing left behind


def test_later_steps_mint_on_demand_also_after_the_first_token_expired(test_key: TestKey, tmp_path: Path) -> None:
    result, calls = run_step(tmp_path, key_id=test_key.key_id, issuer_id=ISSUER_ID, private_key=test_key.pem,
                             lifetime="62", scope="GET /v1/apps\nGET /v1/builds?filter[app]=1,2",
                             export_for="fastlane, altool")
    assert result.returncode == 0, result.stderr
    store = envstore(calls)
    token, sensitive = store["APP_STORE_CONNECT_TOKEN"]
    assert sensitive and [c["argv"][2] for c in calls][-1] == "APP_STORE_CONNECT_TOKEN"  # type: ignore[index]
    assert [name for name, (_, secret) in store.items() if secret] == ["APP_STORE_CONNECT_TOKEN"]
    key_path = Path(store["ASC_PRIVATE_KEY_PATH"][0])
    work = Path(store["XCTOKEN_BITRISE_DIR"][0])
    assert key_path == work / "private_keys" / f"AuthKey_{test_key.key_id}.p8"
    assert work.parent == tmp_path / "tmp" and stat.S_IMODE(work.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert store["API_PRIVATE_KEYS_DIR"][0] == str(key_path.parent)
    assert store["APP_STORE_CONNECT_API_KEY_KEY_FILEPATH"][0] == str(key_path)
    assert Path(store["APP_STORE_CONNECT_API_KEY_PATH"][0]).is_file()
    assert store["PATH"][0].split(os.pathsep)[0] == str(work / "bin")

    # 62 s with the default 60 s back-dating: the step's token dies 2 s after it was made. Wait it out.
    step_exp = int(later_claims(token)["exp"])  # type: ignore[call-overload]
    time.sleep(max(0.0, step_exp - time.time() + 1.5))
    assert time.time() > step_exp
    later = later_step(store, "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    fresh = later.stdout.strip()
    assert fresh != token
    claims = verify(fresh, test_key)
    assert claims["scope"] == ["GET /v1/apps", "GET /v1/builds?filter[app]=1,2"]
    assert claims["exp"] - claims["iat"] == 62 and claims["exp"] > time.time()  # type: ignore[operator]
    verify_with_openssl(fresh, test_key.private_key.public_key(), tmp_path)


def test_individual_key_from_a_file(test_key: TestKey, tmp_path: Path) -> None:
    key_file = test_key.write(tmp_path)
    result, calls = run_step(tmp_path, key_id=test_key.key_id, private_key_path=str(key_file),
                             key_type="individual")
    assert result.returncode == 0, result.stderr
    store = envstore(calls)
    assert "ASC_ISSUER_ID" not in store and store["XCTOKEN_KEY_TYPE"][0] == "individual"
    later = later_step(store, "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    assert "sub" in later_claims(later.stdout) and "iss" not in later_claims(later.stdout)


def later_claims(token: str) -> dict[str, object]:
    import base64
    import json

    payload = token.strip().split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_failures_leave_nothing(test_key: TestKey, tmp_path: Path) -> None:
    missing, none = run_step(tmp_path, key_id=test_key.key_id, issuer_id=ISSUER_ID,
                             private_key_path=str(tmp_path / "nope.p8"))
    assert missing.returncode == 4, missing.stderr
    assert none == []
    assert list((tmp_path / "tmp").iterdir()) == []

    bad, none = run_step(tmp_path / "b", key_id=test_key.key_id, issuer_id=ISSUER_ID, private_key=test_key.pem,
                         mint_on_demand="maybe")
    assert bad.returncode == 3 and "mint_on_demand" in bad.stderr and none == []

    # envman refuses the adds: the step fails, no key file stays, and the adds are undone
    failed, calls = run_step(tmp_path / "c", envman_exit="1", key_id=test_key.key_id, issuer_id=ISSUER_ID,
                             private_key=test_key.pem)
    assert failed.returncode != 0 and "envman" in failed.stderr
    assert list((tmp_path / "c" / "tmp").iterdir()) == []
    assert "APP_STORE_CONNECT_TOKEN" not in [c["argv"][2] for c in calls]  # type: ignore[index]


def test_a_planted_xctoken_is_never_run(test_key: TestKey, tmp_path: Path) -> None:
    """The old shared /tmp/xctoken-bitrise-step venv: another user's program there got the key."""
    planted = tmp_path / "tmp" / "xctoken-bitrise-step" / "bin"
    planted.mkdir(parents=True)
    marker = tmp_path / "ran"
    (planted / "xctoken").write_text(f"#!/bin/sh\nenv > {marker}\n")
    (planted / "xctoken").chmod(0o755)
    (planted / "python").symlink_to(planted / "xctoken")
    result, _ = run_step(tmp_path, key_id=test_key.key_id, issuer_id=ISSUER_ID, private_key=test_key.pem)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()


def test_requirements_core_pins_what_runtime_pins() -> None:
    def pins(name: str) -> dict[str, str]:
        text = (ROOT / "requirements" / name).read_text()
        return {m[0]: m[1] for m in re.findall(r"^([a-z0-9-]+)==(\S+) \\\n((?:    --hash=\S+(?: \\)?\n)+)", text, re.M)
                for m in [(m[0], m[1] + m[2])]}

    core, runtime = pins("core.txt"), pins("runtime.txt")
    assert set(core) == {"cffi", "cryptography", "pycparser", "pyjwt"}
    assert all(core[name] == runtime[name] for name in core)


def test_step_installs_its_pinned_wheels_when_python3_lacks_them(test_key: TestKey, tmp_path: Path) -> None:
    """The install path, for real: a python3 without cryptography, pip with --require-hashes --only-binary."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    probe = subprocess.run([str(bare / "bin" / "python3"), "-I", "-c", "import cryptography"], capture_output=True)
    assert probe.returncode != 0  # a venv sees no site-packages but its own
    result, calls = run_step(tmp_path, path=os.pathsep.join([str(bare / "bin"), "/usr/bin", "/bin"]),
                             key_id=test_key.key_id, issuer_id=ISSUER_ID, private_key=test_key.pem)
    assert result.returncode == 0, result.stderr[-2000:]
    store = envstore(calls)
    venv = Path(store["XCTOKEN_BITRISE_DIR"][0]) / "venv"
    assert venv.is_dir()
    later = later_step(store, "xctoken", "generate")
    assert later.returncode == 0, later.stderr
    verify(later.stdout, test_key)


def test_a_cancel_during_the_adds_leaves_no_variable_and_no_key_file(test_key: TestKey, tmp_path: Path) -> None:
    """SIGTERM while envman runs: the adds finish, are undone, and the step stops (143) with nothing left."""
    import signal

    install_standin(tmp_path / "bin", "envman")
    slow = tmp_path / "bin" / "envman"
    recorder = slow.read_text()
    # The third add takes a while: the cancel lands in the middle of the set.
    slow.write_text(recorder.replace("import json, os, sys", "import json, os, sys, time\n"
                                     "n = sum(1 for _ in open(os.environ['STANDIN_LOG'])) if os.path.exists("
                                     "os.environ['STANDIN_LOG']) else 0\nif n == 2: time.sleep(2)"))
    log = tmp_path / "envman.log"
    (tmp_path / "tmp").mkdir()
    env = {"PATH": os.pathsep.join([str(tmp_path / "bin"), TOOL_PATH]), "STANDIN_LOG": str(log),
           "TMPDIR": str(tmp_path / "tmp"), "HOME": str(tmp_path), "key_id": test_key.key_id,
           "issuer_id": ISSUER_ID, "private_key": test_key.pem}
    process = subprocess.Popen(["bash", str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline and not (log.exists() and len(log.read_text().splitlines()) >= 2):
        time.sleep(0.05)
    python = [p for p in subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                        text=True).stdout.split()]
    for pid in python:
        os.kill(int(pid), signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert b"Traceback" not in err
    store = envstore(recorded(log))
    # Every add undone: PATH back to what the step started with, the others unset.
    assert store == {"PATH": (env["PATH"], False)}, sorted(store)
    assert list((tmp_path / "tmp").iterdir()) == []
