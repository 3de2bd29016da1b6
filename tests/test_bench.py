"""The benchmark still works: bench/bench.py in quick mode, and the honesty of what it compares.

No time is asserted here (speed is the bench's report, not a test). What is
asserted: the bench runs and prints every row; each alternative it times makes a
valid token (checked with jwcrypto, independently of xctoken, PyJWT and the
bench's own checker), the CLI ones and every action variant run under act alike;
the checks it reports (no GitHub-only module on the CLI path, no key parsing per
token) hold, and would catch the opposite.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ISSUER_ID, KEY_ID, ROOT
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto import jwk, jwt

BENCH = ROOT / "bench" / "bench.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("xctoken_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["xctoken_bench"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = load_bench()


@pytest.fixture
def workspace(tmp_path: Path):  # type: ignore[no-untyped-def]
    return bench.Workspace.create(tmp_path)


def jwcrypto_claims(token: str, workspace) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Verify with jwcrypto (signature, exp/nbf checks) and return the claims."""
    key = jwk.JWK.from_pem(workspace.pem)
    checked = jwt.JWT(jwt=token, key=key, algs=["ES256"], check_claims={"exp": None, "aud": "appstoreconnect-v1"})
    header = json.loads(checked.header)
    assert header == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
    return json.loads(checked.claims)


def run_bench(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def table_lines(stdout: str) -> dict[str, str]:
    """Row name -> the table line for it."""
    found = {}
    for line in stdout.splitlines():
        for name in bench.ROWS:
            if line.startswith(name + " "):
                found[name] = line
    return found


def test_quick_mode_prints_every_row_and_the_numbers() -> None:
    result = run_bench("--quick", "--no-container", "--no-actions")
    assert result.returncode == 0, result.stderr
    rows = table_lines(result.stdout)
    assert list(rows) == list(bench.ROWS)
    for name in bench.CLI_ROWS + bench.LIBRARY_ROWS:
        assert rows[name].rstrip().endswith(("PASS", "OVER", "info")), rows[name]
    for name in bench.CONTAINER_ROWS + bench.ACTION_ROWS:
        assert "skipped" in rows[name]
    assert rows["GitHub-only modules on the CLI path"].split()[-1] == "PASS"
    assert rows["key parses while signing"].split()[-1] == "PASS"
    for series in ("xctoken generate", "cryptography-only script", "minimal PyJWT script", "openssl pipeline",
                   "raw ECDSA sign (cryptography)", "Signer.sign"):
        assert any(line.strip().startswith(series) and "median" in line for line in result.stdout.splitlines())
    assert "cpu:" in result.stdout and "python:" in result.stdout


def test_quick_mode_writes_its_numbers_as_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_bench("--quick", "--no-container", "--runs", "2", "--tokens", "20", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert [row["figure"] for row in data["rows"]] == list(bench.ROWS)
    assert all(len(series["values"]) == 2 and series["median"] > 0 for series in data["series"])


@pytest.mark.parametrize("venv", ["this interpreter", "the bench's user-like venv"])
def test_every_timed_alternative_makes_a_valid_token(workspace, tmp_path: Path, venv: str) -> None:  # type: ignore[no-untyped-def]
    python = bench.user_venv(tmp_path / "venv") if venv.startswith("the bench") else None
    claims = {}
    for name, argv in bench.cli_commands(workspace, python).items():
        if name == "python -c pass":
            continue
        token = bench.run_for_token(argv)
        claims[name] = jwcrypto_claims(token, workspace)
        assert bench.verify_token(token, workspace.private_key.public_key()) == claims[name]
    assert set(claims) == {"xctoken generate", "cryptography-only script", "minimal PyJWT script", "openssl pipeline"}
    # The same work: same claims, up to the second the token was made in.
    for found in claims.values():
        assert found["iss"] == ISSUER_ID and found["aud"] == "appstoreconnect-v1"
        assert found["exp"] - found["iat"] == 1200
        assert set(found) == {"iss", "iat", "exp", "aud"}


def test_the_user_like_venv_runs_this_checkout_without_the_editable_finder(tmp_path: Path) -> None:
    python = bench.user_venv(tmp_path / "venv")
    probe = ("import json, sys, xctoken, cryptography, jwt\n"
             "print(json.dumps({'xctoken': xctoken.__file__, 'modules': sorted(sys.modules), 'prefix': sys.prefix}))")
    found = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True,
                                      env={"PATH": "/usr/bin:/bin"}).stdout)
    assert Path(found["xctoken"]).resolve() == (ROOT / "xctoken" / "__init__.py").resolve()
    assert Path(found["prefix"]) == tmp_path / "venv"
    assert not [m for m in found["modules"] if "editable" in m]  # the dev venv's finder is not run here
    # pip's console script, on that venv's interpreter
    script = (python.parent / "xctoken").read_text()
    assert script.startswith(f"#!{python}\n") and "from xctoken.cli import main" in script


def test_act_step_times_are_read_from_its_log() -> None:
    log = ("[bench/portable]   ✅  Success - Main for candidate in python3 python; do\n  if command -v x\n"
           "done\n [1.420413162s]\n[bench/portable]   ✅  Success - Main ./portable [1.7395s]\n"
           "[bench/portable]   ✅  Success - Main printf '%s' \"$T\" > \".bench/$JOB.token\" [95.675833ms]\n"
           "[bench/portable]   ✅  Success - Post ./portable [57.336µs]\n")
    assert bench.step_seconds(log) == [
        ("1. portable's own step (bootstrap.py, entry point)", pytest.approx(1.420413162)),
        ("2. ./portable", pytest.approx(1.7395)),
        ("3. the bench's step writing the token", pytest.approx(0.095675833)),
    ]


def test_openssl_check_of_action_tokens_refuses_a_bad_signature(workspace, make_key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    token = bench.run_for_token(bench.cli_commands(workspace)["openssl pipeline"])
    public = workspace.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    other = make_key().private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    assert bench.openssl_verifies(token, public, tmp_path)
    assert not bench.openssl_verifies(token, other, tmp_path)


def test_every_in_process_candidate_makes_a_valid_token(workspace) -> None:  # type: ignore[no-untyped-def]
    for name, make in bench.library_candidates(workspace).items():
        produced = make()
        if name.startswith("raw"):
            continue
        jwcrypto_claims(getattr(produced, "value", produced), workspace)


@pytest.mark.parametrize("r, s", [
    (5, 2**256 - 189),                # a short R: left-padded to 32 bytes
    (2**255 + 7, 1),                  # a high bit: DER adds a sign byte, raw must not
    (0x7F << 248, 0x80 << 248),
])
def test_openssl_pipeline_converts_der_to_fixed_width_r_s(r: int, s: int) -> None:
    result = subprocess.run(["sh", str(ROOT / "bench" / "openssl_token.sh"), "--raw-signature"],
                            input=encode_dss_signature(r, s), capture_output=True, check=True)
    text = result.stdout.strip().decode()
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    assert len(raw) == 64
    assert (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")) == (r, s)


def test_bench_checker_refuses_bad_tokens(workspace, make_key) -> None:  # type: ignore[no-untyped-def]
    token = bench.run_for_token(bench.cli_commands(workspace)["openssl pipeline"])
    public_key = workspace.private_key.public_key()
    bench.verify_token(token, public_key)
    header, claims, signature = token.split(".")
    with pytest.raises(bench.BenchError, match="does not verify"):
        bench.verify_token(token, make_key().private_key.public_key())
    with pytest.raises(bench.BenchError, match="does not verify"):
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        bench.verify_token(f"{header}.{claims}.{flipped}", public_key)
    der = workspace.private_key.sign(f"{header}.{claims}".encode(), bench.ec.ECDSA(bench.hashes.SHA256()))
    der_segment = base64.urlsafe_b64encode(der).rstrip(b"=").decode()
    with pytest.raises(bench.BenchError, match="not the 64 of raw"):
        bench.verify_token(f"{header}.{claims}.{der_segment}", public_key)
    with pytest.raises(bench.BenchError, match="not valid now"):
        bench.verify_token(token, public_key, now=json.loads(bench.b64url_decode(claims))["exp"])


def test_cli_path_imports_no_github_only_module(workspace) -> None:  # type: ignore[no-untyped-def]
    hits, checked, _ = bench.github_modules_on_cli_path(workspace)
    assert hits == []
    assert {"actions_toolkit", "xctoken.ci.github"} <= set(checked)
    # The detector sees such an import when one happens.
    forbidden, _ = bench.github_only_modules()
    names, _ = bench.modules_imported_by(
        [sys.executable, "-c", "import xctoken.cli, xctoken.ci.github, actions_toolkit.command"])
    assert "actions_toolkit" in bench.github_only_hits(names, forbidden)
    assert "xctoken.ci.github" in bench.github_only_hits(names, forbidden)


def test_signing_parses_the_key_once_not_per_token(workspace) -> None:  # type: ignore[no-untyped-def]
    from xctoken import Signer, TokenRequest, load_private_key

    signer = Signer(TokenRequest(key_id=KEY_ID, issuer_id=ISSUER_ID), load_private_key(workspace.pem))
    assert bench.key_parses_during(signer.sign, 25) == 0
    # The counter counts: loading the key per token shows up.
    import xctoken.keys

    assert bench.key_parses_during(lambda: xctoken.keys.load_private_key(workspace.pem), 3) >= 3


@pytest.mark.docker
def test_quick_mode_with_the_container(require_docker: None) -> None:
    result = run_bench("--quick", "--container", "--no-actions", timeout=1200)
    assert result.returncode == 0, result.stderr
    rows = table_lines(result.stdout)
    assert list(rows) == list(bench.ROWS)
    for name in bench.CONTAINER_ROWS:
        assert rows[name].rstrip().endswith(("PASS", "OVER", "info")), rows[name]
    assert " MB" in rows["image size over base"]
    assert " MB" in rows["image layers over base, compressed"] and "base " in rows["image layers over base, compressed"]
    assert "docker run to token" in result.stdout and "cold docker build --no-cache" in result.stdout


@pytest.mark.docker
@pytest.mark.slow
def test_every_action_variant_under_act_makes_a_valid_token(require_docker: None, workspace) -> None:  # type: ignore[no-untyped-def]
    # One round of every variant, as `bench.py --quick --actions` runs it; the bench itself
    # checks each token with cryptography and openssl, here jwcrypto checks them once more.
    figures = bench.action_figures(workspace, rounds=1)
    minted = [variant for variant in bench.ACT_VARIANTS if not variant.startswith(("baseline", "composite"))]
    assert sorted(figures.tokens) == sorted(minted)
    for variant, token in figures.tokens.items():
        claims = jwcrypto_claims(token, workspace)
        assert claims["iss"] == ISSUER_ID and claims["exp"] - claims["iat"] == 1200, variant
    assert len({figures.tokens[v].split(".")[0] for v in minted}) == 1  # the same header everywhere
    assert all(len(series.values) == 1 for series in figures.jobs.values())
    rows, numbers, notes = bench.action_rows(figures)
    assert [row.figure for row in rows] == list(bench.ACTION_ROWS)
    assert [row.status for row in rows[:2]] in (["PASS", "PASS"], ["PASS", "OVER"], ["OVER", "PASS"], ["OVER", "OVER"])
    assert {row.status for row in rows[2:]} == {"info"}
    # act's own step times and the portable action's own account of its setup were found in the logs
    assert any(name.endswith("./portable") for name in figures.steps["portable action"])
    assert figures.portable_install and figures.portable_venv
