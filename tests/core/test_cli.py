"""The xctoken command as users run it: a subprocess, real files, real environment variables.

Every token printed here is verified with PyJWT against the public key; every
failing run is checked for the one-line error contract and for leaks.
"""

from __future__ import annotations

import base64
import json
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jwt as pyjwt
import pytest
from conftest import ISSUER_ID, KEY_ID, clean_env, needs_dev_full, run_cli
from conftest import TestKey as SampleKey  # not collected as a test class
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import xctoken
from xctoken import TokenRequest, mint_token

from .helpers import assert_no_leak, b64url, key_renderings, sign_compact

KEY = SampleKey(ec.generate_private_key(ec.SECP256R1()))
OTHER = SampleKey(ec.generate_private_key(ec.SECP256R1()), "OTHERKEY01")
SECRETS = key_renderings(KEY.private_key) + key_renderings(OTHER.private_key)
OTHER_ISSUER = "69a6de70-03db-47e3-e053-5b8c7c11a4d1"
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def xc(*args: str, cwd: Path, input: str | bytes | None = None,
       **env: str) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI in ``cwd`` (so ./private_keys is the test's) with only ``env`` set."""
    return run_cli(*args, env=clean_env(**env), input=input, cwd=cwd)


def ok_token(result: subprocess.CompletedProcess[bytes], key: SampleKey = KEY, *,
             audience: str = "appstoreconnect-v1") -> tuple[dict[str, object], dict[str, object]]:
    """Assert a clean run that printed exactly one token line; verify it, return header and claims."""
    assert result.returncode == 0, result.stderr.decode()
    stdout = result.stdout.decode()
    assert stdout.endswith("\n") and stdout.count("\n") == 1, stdout
    token = stdout.strip()
    claims = pyjwt.decode(token, key.private_key.public_key(), algorithms=["ES256"], audience=audience)
    assert_no_leak(result.stderr, SECRETS)
    assert token not in result.stderr.decode()
    return pyjwt.get_unverified_header(token), claims


def silent_ok(result: subprocess.CompletedProcess[bytes], key: SampleKey = KEY,
              **kwargs: str) -> tuple[dict[str, object], dict[str, object]]:
    header, claims = ok_token(result, key, **kwargs)
    assert result.stderr == b"", result.stderr.decode()
    return header, claims


def key_dir(tmp_path: Path, *keys: SampleKey, name: str = "keys", mode: int = 0o600) -> Path:
    directory = tmp_path / name
    directory.mkdir(parents=True, exist_ok=True)
    for key in keys:
        key.write(directory, mode=mode)
    return directory


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# ---------------------------------------------------------------------------- variable families


def test_ruby_gem_variables(tmp_path: Path) -> None:
    directory = key_dir(tmp_path, KEY)
    header, claims = silent_ok(xc("generate", cwd=tmp_path, ISSUER_ID=ISSUER_ID, KEY_ID=KEY_ID,
                                  KEY_DIR=str(directory)))
    assert header == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
    assert claims["iss"] == ISSUER_ID and claims["exp"] - claims["iat"] == 1200  # type: ignore[operator]


def test_fastlane_key_content(tmp_path: Path) -> None:
    header, claims = silent_ok(xc("generate", cwd=tmp_path, APP_STORE_CONNECT_API_KEY_KEY_ID=KEY_ID,
                                  APP_STORE_CONNECT_API_KEY_ISSUER_ID=ISSUER_ID,
                                  APP_STORE_CONNECT_API_KEY_KEY=KEY.pem))
    assert header["kid"] == KEY_ID and claims["iss"] == ISSUER_ID


def test_fastlane_key_filepath(tmp_path: Path) -> None:
    path = KEY.write(tmp_path)
    header, _ = silent_ok(xc("generate", cwd=tmp_path, APP_STORE_CONNECT_API_KEY_KEY_ID=KEY_ID,
                             APP_STORE_CONNECT_API_KEY_ISSUER_ID=ISSUER_ID,
                             APP_STORE_CONNECT_API_KEY_KEY_FILEPATH=str(path)))
    assert header["kid"] == KEY_ID


def test_fastlane_base64_content_duration_and_in_house(tmp_path: Path) -> None:
    _, claims = silent_ok(xc("generate", cwd=tmp_path, APP_STORE_CONNECT_API_KEY_KEY_ID=KEY_ID,
                             APP_STORE_CONNECT_API_KEY_ISSUER_ID=ISSUER_ID,
                             APP_STORE_CONNECT_API_KEY_KEY=b64(KEY.pem),
                             APP_STORE_CONNECT_API_KEY_IS_KEY_CONTENT_BASE64="true",
                             APP_STORE_CONNECT_API_KEY_DURATION="600",
                             APP_STORE_CONNECT_API_KEY_IN_HOUSE="true"),
                          audience="apple-developer-enterprise-v1")
    assert claims["exp"] - claims["iat"] == 600  # type: ignore[operator]
    assert claims["aud"] == "apple-developer-enterprise-v1"


def test_fastlane_in_house_false_keeps_app_store_connect(tmp_path: Path) -> None:
    _, claims = silent_ok(xc("generate", cwd=tmp_path, APP_STORE_CONNECT_API_KEY_KEY_ID=KEY_ID,
                             APP_STORE_CONNECT_API_KEY_ISSUER_ID=ISSUER_ID, APP_STORE_CONNECT_API_KEY_KEY=KEY.pem,
                             APP_STORE_CONNECT_API_KEY_IN_HOUSE="false"))
    assert claims["aud"] == "appstoreconnect-v1"


@pytest.mark.parametrize("variable", ["ASC_PRIVATE_KEY", "ASC_PRIVATE_KEY_B64", "ASC_PRIVATE_KEY_PATH"])
def test_asc_variables(variable: str, tmp_path: Path) -> None:
    value = {"ASC_PRIVATE_KEY": KEY.pem.replace("\n", "\\n"), "ASC_PRIVATE_KEY_B64": b64(KEY.pem),
             "ASC_PRIVATE_KEY_PATH": str(KEY.write(tmp_path))}[variable]
    header, claims = silent_ok(xc("generate", cwd=tmp_path, ASC_KEY_ID=KEY_ID, ASC_ISSUER_ID=ISSUER_ID,
                                  **{variable: value}))
    assert header["kid"] == KEY_ID and claims["iss"] == ISSUER_ID


def test_flags_beat_environment(tmp_path: Path) -> None:
    path = KEY.write(tmp_path, "my.p8")
    header, claims = silent_ok(xc("generate", "--key-id", KEY_ID, "--issuer-id", ISSUER_ID, "--key", str(path),
                                  "--lifetime", "5m", cwd=tmp_path, ASC_KEY_ID=OTHER.key_id,
                                  ASC_ISSUER_ID=OTHER_ISSUER, ASC_PRIVATE_KEY=OTHER.pem,
                                  APP_STORE_CONNECT_API_KEY_DURATION="900"))
    assert header["kid"] == KEY_ID and claims["iss"] == ISSUER_ID
    assert claims["exp"] - claims["iat"] == 300  # type: ignore[operator]


def test_conflicting_key_sources_warn_naming_the_winner(tmp_path: Path) -> None:
    result = xc("generate", cwd=tmp_path, ASC_KEY_ID=KEY_ID, ASC_ISSUER_ID=ISSUER_ID, ASC_PRIVATE_KEY=KEY.pem,
                APP_STORE_CONNECT_API_KEY_KEY=OTHER.pem)
    ok_token(result)  # signed with the ASC_* key, not fastlane's
    stderr = result.stderr.decode()
    (line,) = stderr.splitlines()
    assert line.startswith("xctoken: warning:")
    assert "using ASC_PRIVATE_KEY" in line and "APP_STORE_CONNECT_API_KEY_KEY" in line
    assert_no_leak(stderr, SECRETS)


def test_conflicting_key_ids_warn_without_values(tmp_path: Path) -> None:
    result = xc("generate", cwd=tmp_path, ASC_KEY_ID=KEY_ID, KEY_ID=OTHER.key_id, ASC_ISSUER_ID=ISSUER_ID,
                ASC_PRIVATE_KEY=KEY.pem)
    header, _ = ok_token(result)
    assert header["kid"] == KEY_ID
    stderr = result.stderr.decode()
    assert "using ASC_KEY_ID" in stderr and "KEY_ID also set" in stderr
    assert OTHER.key_id not in stderr


def test_key_id_from_file_name(tmp_path: Path) -> None:
    path = KEY.write(tmp_path, "AuthKey_ABCDE12345.p8")
    header, _ = silent_ok(xc("generate", "--key", str(path), "--issuer-id", ISSUER_ID, cwd=tmp_path))
    assert header["kid"] == "ABCDE12345"


def test_key_id_mismatch_with_file_name_warns(tmp_path: Path) -> None:
    path = KEY.write(tmp_path, "AuthKey_ABCDE12345.p8")
    result = xc("generate", "--key", str(path), "--key-id", KEY_ID, "--issuer-id", ISSUER_ID, cwd=tmp_path)
    header, _ = ok_token(result)
    assert header["kid"] == KEY_ID
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("xctoken: warning:") and "AuthKey_ABCDE12345.p8" in line and "--key-id" in line


# ---------------------------------------------------------------------------- altool's directories


def test_altool_home_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key_dir(home, KEY, name=".appstoreconnect/private_keys")
    header, _ = silent_ok(xc("generate", cwd=tmp_path, HOME=str(home), ASC_ISSUER_ID=ISSUER_ID))
    assert header["kid"] == KEY_ID  # inferred from the only AuthKey_*.p8 there


def test_altool_home_directory_with_key_id_picks_that_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key_dir(home, KEY, OTHER, name="private_keys")
    header, _ = silent_ok(xc("generate", cwd=tmp_path, HOME=str(home), ASC_ISSUER_ID=ISSUER_ID,
                             ASC_KEY_ID=OTHER.key_id), OTHER)
    assert header["kid"] == OTHER.key_id


def test_api_private_keys_dir(tmp_path: Path) -> None:
    directory = key_dir(tmp_path, KEY, name="somewhere/else")
    header, _ = silent_ok(xc("generate", cwd=tmp_path, API_PRIVATE_KEYS_DIR=str(directory),
                             ASC_ISSUER_ID=ISSUER_ID))
    assert header["kid"] == KEY_ID


def test_private_keys_in_working_directory(tmp_path: Path) -> None:
    key_dir(tmp_path, KEY, name="private_keys")
    header, _ = silent_ok(xc("generate", "--issuer-id", ISSUER_ID, cwd=tmp_path))
    assert header["kid"] == KEY_ID


def test_key_from_stdin(tmp_path: Path) -> None:
    header, _ = silent_ok(xc("generate", "--key", "-", "--key-id", KEY_ID, "--issuer-id", ISSUER_ID,
                             cwd=tmp_path, input=KEY.pem.replace("\n", "\r\n")))
    assert header["kid"] == KEY_ID


# ---------------------------------------------------------------------------- output formats

ASC_ENV = {"ASC_KEY_ID": KEY_ID, "ASC_ISSUER_ID": ISSUER_ID, "ASC_PRIVATE_KEY": KEY.pem}


def test_format_json(tmp_path: Path) -> None:
    result = xc("generate", "--format", "json", "--scope", "GET /v1/apps", cwd=tmp_path, **ASC_ENV)
    assert result.returncode == 0 and result.stderr == b""
    data = json.loads(result.stdout)
    assert set(data) == {"token", "kid", "key_type", "audience", "issued_at", "expires_at", "scope"}
    claims = pyjwt.decode(data["token"], KEY.private_key.public_key(), algorithms=["ES256"],
                          audience="appstoreconnect-v1")
    assert (data["kid"], data["key_type"], data["audience"], data["scope"]) == (
        KEY_ID, "team", "appstoreconnect-v1", ["GET /v1/apps"])
    assert ISO_Z.fullmatch(data["issued_at"]) and ISO_Z.fullmatch(data["expires_at"])
    assert data["issued_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["iat"]))
    assert data["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))


def test_format_shell_evaluates_in_bash(tmp_path: Path) -> None:
    result = xc("generate", "--format", "shell", cwd=tmp_path, **ASC_ENV)
    assert result.returncode == 0 and result.stderr == b""
    # The export lines arrive on bash's stdin, so the token never appears on a command line.
    shell = subprocess.run(["bash", "-c", 'eval "$(cat)"; printf "%s\\n%s\\n" "$APP_STORE_CONNECT_TOKEN" '
                            '"$APP_STORE_CONNECT_TOKEN_EXPIRES_AT"'],
                           input=result.stdout, capture_output=True, timeout=30, env=clean_env())
    assert shell.returncode == 0 and shell.stderr == b""
    token, expires_at = shell.stdout.decode().splitlines()
    claims = pyjwt.decode(token, KEY.private_key.public_key(), algorithms=["ES256"], audience="appstoreconnect-v1")
    assert expires_at == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))


def test_output_file_is_0600_and_stdout_empty(tmp_path: Path) -> None:
    target = tmp_path / "token.txt"
    target.write_text("old content")
    target.chmod(0o644)
    result = xc("generate", "--output", str(target), cwd=tmp_path, **ASC_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    token = target.read_text()
    assert token.endswith("\n") and token.count("\n") == 1
    pyjwt.decode(token.strip(), KEY.private_key.public_key(), algorithms=["ES256"], audience="appstoreconnect-v1")
    stderr = result.stderr.decode()
    assert str(target) in stderr and token.strip() not in stderr
    assert [p.name for p in tmp_path.iterdir()] == ["token.txt"]  # no temporary file left behind


def test_output_new_file_is_0600(tmp_path: Path) -> None:
    target = tmp_path / "new-token"
    result = xc("generate", "-o", str(target), "--no-newline", cwd=tmp_path, **ASC_ENV)
    assert result.returncode == 0 and result.stdout == b""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "\n" not in target.read_text()


def test_no_newline(tmp_path: Path) -> None:
    result = xc("generate", "--no-newline", cwd=tmp_path, **ASC_ENV)
    assert result.returncode == 0 and result.stderr == b""
    token = result.stdout.decode()
    assert not token.endswith("\n") and token.count(".") == 2
    pyjwt.decode(token, KEY.private_key.public_key(), algorithms=["ES256"], audience="appstoreconnect-v1")


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"xctoken {xctoken.__version__}"


# ---------------------------------------------------------------------------- decode and check


def test_decode_valid_token_exit_0(tmp_path: Path) -> None:
    token = mint_token(TokenRequest(key_id=KEY_ID, issuer_id=ISSUER_ID), KEY.private_key).value
    result = xc("decode", token, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == b""
    stdout = result.stdout.decode()
    assert "result: valid" in stdout and "signature not verified" in stdout
    assert token not in stdout
    verified = xc("decode", "-", "--key", str(KEY.write(tmp_path)), cwd=tmp_path, input=token)
    assert verified.returncode == 0, verified.stderr
    assert "ok    signature verifies with the given key" in verified.stdout.decode()


def test_decode_with_the_wrong_key_exit_5(tmp_path: Path) -> None:
    token = mint_token(TokenRequest(key_id=KEY_ID, issuer_id=ISSUER_ID), KEY.private_key).value
    result = xc("decode", "-", "--key", str(OTHER.write(tmp_path, f"AuthKey_{KEY_ID}.p8")), cwd=tmp_path,
                input=token)
    assert result.returncode == 5
    assert "FAIL  signature verifies with the given key" in result.stdout.decode()


def test_decode_json(tmp_path: Path) -> None:
    token = mint_token(TokenRequest(key_id=KEY_ID, issuer_id=ISSUER_ID), KEY.private_key).value
    result = xc("decode", "--json", token, cwd=tmp_path)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["header"]["kid"] == KEY_ID and report["claims"]["iss"] == ISSUER_ID


def test_check_reports_key_format(tmp_path: Path) -> None:
    result = xc("check", cwd=tmp_path, ASC_KEY_ID=KEY_ID, ASC_ISSUER_ID=ISSUER_ID, ASC_PRIVATE_KEY_B64=b64(KEY.pem))
    assert result.returncode == 0, result.stderr
    stdout = result.stdout.decode()
    assert "key format: PKCS#8 base64 of a PEM file" in stdout
    assert "self-test:  a token signed and verified in memory" in stdout
    assert result.stderr == b""
    assert_no_leak(stdout, SECRETS)
    assert not re.search(r"ey[A-Za-z0-9_-]{10,}\.", stdout)  # no JWT


def test_check_warns_about_a_world_readable_key_file(tmp_path: Path) -> None:
    path = KEY.write(tmp_path, mode=0o644)
    result = xc("check", "--key", str(path), "--issuer-id", ISSUER_ID, cwd=tmp_path)
    assert result.returncode == 0
    assert "key format: PKCS#8 PEM" in result.stdout.decode()
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("xctoken: warning:") and "chmod 600" in line and "644" in line
    private = xc("check", "--key", str(KEY.write(tmp_path, "private.p8")), "--key-id", KEY_ID,
                 "--issuer-id", ISSUER_ID, cwd=tmp_path)
    assert private.returncode == 0 and private.stderr == b""


# ---------------------------------------------------------------------------- failures


@dataclass
class Failure:
    name: str
    args: tuple[str, ...]
    exit_code: int
    fragment: str = ""
    env: dict[str, str] = field(default_factory=dict)
    input: str | None = None
    setup: Callable[[Path], None] | None = None


def _rsa_pem() -> str:
    return rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _p384_pem() -> str:
    return ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


EXPIRED = mint_token(TokenRequest(key_id=KEY_ID, issuer_id=ISSUER_ID), KEY.private_key,
                     now=time.time() - 7200).value
FASTLANE_1260 = sign_compact({"alg": "ES256", "kid": KEY_ID, "typ": "JWT"},
                             {"iss": ISSUER_ID, "iat": int(time.time()) - 60, "exp": int(time.time()) + 1200,
                              "aud": "appstoreconnect-v1"}, KEY.private_key)
RSA_PEM = _rsa_pem()
# The SEC1 PEM's last line is short (36 characters): an unquoted $KEY spreads lines over argv.
SEC1_LAST_LINE = KEY.private_key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption(),
).decode().splitlines()[-2]
RSA_SECRETS = key_renderings(serialization.load_pem_private_key(RSA_PEM.encode(), None))
ASC = {"ASC_KEY_ID": KEY_ID, "ASC_ISSUER_ID": ISSUER_ID}

FAILURES = [
    Failure("unknown option", ("generate", "--bogus"), 2, "--bogus", ASC_ENV),
    Failure("bad --format choice", ("generate", "--format", "xml"), 2, "--format", ASC_ENV),
    Failure("option missing its value", ("generate", "--lifetime"), 2, "--lifetime", ASC_ENV),
    Failure("decode without a token", ("decode",), 2, "TOKEN"),
    Failure("unknown command", ("mint",), 2, "mint"),
    Failure("missing issuer", ("generate",), 3, "--key-type individual",
            {"ASC_KEY_ID": KEY_ID, "ASC_PRIVATE_KEY": KEY.pem}),
    Failure("bad lifetime", ("generate", "--lifetime", "soon"), 3, "lifetime", ASC_ENV),
    Failure("long lifetime without scope", ("generate", "--lifetime", "1h"), 3, "without a scope", ASC_ENV),
    Failure("malformed key ID", ("generate", "--key-id", "../../etc/x"), 3, "10 upper-case", ASC_ENV),
    Failure("malformed issuer from fastlane", ("generate",), 3, "8-4-4-4-12",
            {"APP_STORE_CONNECT_API_KEY_KEY_ID": KEY_ID, "APP_STORE_CONNECT_API_KEY_ISSUER_ID": "not-an-issuer",
             "APP_STORE_CONNECT_API_KEY_KEY": KEY.pem}),
    Failure("no key ID anywhere", ("generate", "--key", "key.p8", "--issuer-id", ISSUER_ID), 3, "key ID is missing",
            setup=lambda d: KEY.write(d, "key.p8")),
    Failure("bad scope", ("generate", "--scope", "get /v1/apps"), 3, "upper case", ASC_ENV),
    Failure("no key anywhere", ("generate",), 4, "no private key given", ASC),
    Failure("key file missing", ("generate", "--key", "nope/AuthKey_2X9R4HXF34.p8"), 4, "does not exist", ASC),
    Failure("key path is a directory", ("generate", "--key", "."), 4, "is a directory", ASC),
    Failure("RSA key in ASC_PRIVATE_KEY", ("generate",), 4, "RSA key", {**ASC, "ASC_PRIVATE_KEY": RSA_PEM}),
    Failure("P-384 key file", ("generate", "--key", "p384.p8"), 4, "secp384r1", ASC,
            setup=lambda d: (d / "p384.p8").write_text(_p384_pem())),
    Failure("garbage key", ("generate",), 4, "neither PEM nor valid base64",
            {**ASC, "ASC_PRIVATE_KEY": "my key: ask Bob!"}),
    Failure("truncated key on stdin", ("generate", "--key", "-"), 4, "truncated", ASC,
            input=KEY.pem[: KEY.pem.index("-----END")]),
    Failure("--key-env names an unset variable", ("generate", "--key-env", "MY_KEY"), 4, "MY_KEY", ASC),
    Failure("empty key directory", ("generate", "--key-dir", "empty"), 4, "no AuthKey_<KEYID>.p8 file",
            {"ASC_ISSUER_ID": ISSUER_ID}, setup=lambda d: (d / "empty").mkdir()),
    # Key content where a path or name belongs: a common slip that must not echo the key.
    Failure("key given as a stray argument", ("generate", KEY.pem), 2, "unrecognized arguments", ASC_ENV),
    Failure("key given as --key-type", ("generate", "--key-type", KEY.pem.replace("\n", "\\n")), 2,
            "--key-type", ASC_ENV),
    Failure("short last PEM line as a choice", ("generate", "--format", SEC1_LAST_LINE), 2, "--format", ASC_ENV),
    Failure("short last PEM line as a command", (SEC1_LAST_LINE,), 2, "COMMAND"),
    Failure("PEM given to --key", ("generate", "--key", KEY.pem), 4, "looks like the key itself", ASC),
    Failure("base64 given to --key", ("generate", "--key", b64(KEY.pem)), 4, "looks like the key itself", ASC),
    Failure("DER body given to --key", ("generate", "--key", "".join(KEY.pem.splitlines()[1:-1])), 4,
            "looks like the key itself", ASC),
    Failure("PEM in ASC_PRIVATE_KEY_PATH", ("generate",), 4, "looks like the key itself",
            {**ASC, "ASC_PRIVATE_KEY_PATH": KEY.pem}),
    Failure("base64 in fastlane's KEY_FILEPATH", ("generate",), 4, "looks like the key itself",
            {"APP_STORE_CONNECT_API_KEY_KEY_ID": KEY_ID, "APP_STORE_CONNECT_API_KEY_ISSUER_ID": ISSUER_ID,
             "APP_STORE_CONNECT_API_KEY_KEY_FILEPATH": b64(KEY.pem)}),
    Failure("PEM given to --key-dir", ("generate", "--key-dir", KEY.pem), 4, "looks like the key itself",
            {"ASC_ISSUER_ID": ISSUER_ID}),
    Failure("PEM given to --key-dir with a key ID", ("generate", "--key-dir", b64(KEY.pem)), 4,
            "looks like the key itself", ASC),
    Failure("PEM given to --key-env", ("generate", "--key-env", KEY.pem), 4, "name of an environment variable",
            ASC),
    # Key text where the token's file belongs: refused naming the option, never quoting the value.
    Failure("PEM given to --output", ("generate", "--output", KEY.pem), 3, "--output should be a path", ASC_ENV),
    Failure("key body given to --output", ("generate", "--output", "".join(KEY.pem.splitlines()[1:-1])), 3,
            "--output should be a path", ASC_ENV),
    Failure("base64 given to --dotenv", ("generate", "--export", "--dotenv", b64(KEY.pem)), 3,
            "--dotenv should be a path", {**ASC_ENV, "GITLAB_CI": "true"}),
    Failure("PEM in $BASH_ENV", ("generate", "--export"), 3, "$BASH_ENV should be a path",
            {**ASC_ENV, "CIRCLECI": "true", "BASH_ENV": KEY.pem}),
    Failure("PEM in $GITHUB_ENV", ("generate", "--export"), 3, "$GITHUB_ENV should be a path",
            {**ASC_ENV, "GITHUB_ACTIONS": "true", "GITHUB_ENV": KEY.pem}),
    Failure("PEM in XCTOKEN_CACHE_DIR", ("generate", "--cache"), 3, "XCTOKEN_CACHE_DIR should be a path",
            {**ASC_ENV, "XCTOKEN_CACHE_DIR": KEY.pem}),
    # An unset variable ("$TOKEN_FILE") arrives as '': it must not mean "print the token into the log".
    Failure("empty --output", ("generate", "--output", ""), 3, "--output is empty", ASC_ENV),
    Failure("blank --output", ("generate", "-o", "  "), 3, "--output is empty", ASC_ENV),
    Failure("empty --dotenv", ("generate", "--dotenv", ""), 3, "--dotenv is empty", {**ASC_ENV, "GITLAB_CI": "true"}),
    Failure("empty --ci on Jenkins", ("generate", "--export", "--ci", ""), 3, "--ci is empty",
            {**ASC_ENV, "JENKINS_URL": "https://ci.example", "BUILD_ID": "1"}),
    Failure("decode garbage", ("decode", "not-a-token"), 5, "not a JWT"),
    Failure("decode fastlane's 1260 s token", ("decode", FASTLANE_1260), 5, "breaks 1 of Apple's rules"),
    Failure("decode expired token", ("decode", "-"), 6, "has expired", input=EXPIRED),
    Failure("check with a broken key", ("check",), 4, "RSA key", {**ASC, "ASC_PRIVATE_KEY": RSA_PEM}),
    Failure("token and key both on stdin", ("decode", "-", "--key", "-"), 3, "both come from stdin",
            input=EXPIRED),
]


@pytest.mark.parametrize("case", FAILURES, ids=lambda c: c.name)
def test_failure_is_one_clean_line(case: Failure, tmp_path: Path) -> None:
    if case.setup:
        case.setup(tmp_path)
    result = xc(*case.args, cwd=tmp_path, input=case.input, **case.env)
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == case.exit_code, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and stderr.endswith("\n"), stderr
    assert lines[0].startswith("xctoken: error: "), stderr
    assert case.fragment in lines[0], stderr
    assert "Traceback" not in stderr + stdout
    secrets = SECRETS + (RSA_SECRETS if "RSA" in case.name else [])
    assert_no_leak(stderr, secrets)
    assert_no_leak(stdout, secrets)
    assert not re.search(r"ey[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_-]{10,}\.", stderr)  # no JWT on stderr
    if case.args[0] != "decode":
        assert stdout == "", stdout  # nothing half-written, no token
    else:
        for token in (EXPIRED, FASTLANE_1260):
            assert token not in stdout and token not in stderr


def test_leak_check_is_not_vacuous(tmp_path: Path) -> None:
    # The same checks as above, on output that does leak, must fail.
    body = KEY.pem.splitlines()[2]
    with pytest.raises(AssertionError):
        assert_no_leak(f"xctoken: error: bad key {body[5:30]}", SECRETS)


# ---------------------------------------------------------------------------- closed or broken standard streams

# (shell redirection, arguments, expected exit code, fragment of the one error line or None when stderr is closed)
STREAM_FAULTS = [
    (">&-", ("generate",), 7, "standard output is closed"),
    ("> /dev/full", ("generate",), 7, "No space left on device"),
    ("> /dev/full", ("decode", "-"), 7, "No space left on device"),
    ("<&-", ("generate", "--key", "-"), 4, "none is available"),
    ("<&-", ("decode", "-"), 5, "standard input is closed"),
    ("2>&-", ("generate", "--key-id", "bad"), 3, None),
]


@pytest.mark.parametrize(("redirect", "args", "exit_code", "fragment"), [
    pytest.param(*fault, id=f"{fault[0]} {' '.join(fault[1])}",
                 marks=[needs_dev_full] if "/dev/full" in fault[0] else []) for fault in STREAM_FAULTS])
def test_closed_or_full_standard_streams_give_the_documented_error(
        redirect: str, args: tuple[str, ...], exit_code: int, fragment: str | None, tmp_path: Path) -> None:
    import shlex
    import sys

    command = f"{shlex.quote(sys.executable)} -m xctoken {' '.join(map(shlex.quote, args))} {redirect}"
    if "decode" in args and "<&-" not in redirect:
        command = f"printf %s {shlex.quote(EXPIRED)} | {command}"
    env = clean_env(**ASC_ENV)
    env.pop("LANG", None)
    result = subprocess.run(["bash", "-c", command], env=env, capture_output=True, cwd=tmp_path, timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == exit_code, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    if fragment is None:
        assert stderr == ""
    else:
        (line,) = stderr.splitlines()
        assert line.startswith("xctoken: error: ") and fragment in line, line
    assert_no_leak(stderr, SECRETS)


def test_check_with_a_non_ascii_path_and_an_ascii_stdout(tmp_path: Path) -> None:
    directory = tmp_path / "clés"
    directory.mkdir()
    key = KEY.write(directory, "AuthKey_2X9R4HXF34.p8")
    result = xc("check", "--key", str(key), "--issuer-id", ISSUER_ID, cwd=tmp_path, PYTHONIOENCODING="ascii")
    assert result.returncode == 0, result.stderr.decode()
    assert "cl\\xe9s" in result.stdout.decode("ascii")


def test_decoding_a_hostile_token_prints_no_ci_command(tmp_path: Path) -> None:
    # A token from elsewhere can hold anything in its claims. GitHub acts on "##[...]" and
    # Azure on "##vso[...]" anywhere in a line, TeamCity on "##teamcity[...]": none may survive.
    now = int(time.time())
    hostile = sign_compact({"alg": "##[stop-commands]pwned", "kid": KEY_ID, "typ": "JWT"},
                           {"iss": ISSUER_ID, "iat": now - 60, "exp": now + 600, "aud": "appstoreconnect-v1",
                            "x": "##vso[task.setvariable variable=PATH]/tmp/evil",
                            "y": "###teamcity[setParameter name='env.PATH' value='x']"}, KEY.private_key)
    text = xc("decode", hostile, cwd=tmp_path)
    as_json = xc("decode", "--json", hostile, cwd=tmp_path)
    for result in (text, as_json):
        assert result.returncode == 5
        output = result.stdout.decode() + result.stderr.decode()
        assert "##" not in output and "stop-commands" in output
    report = json.loads(as_json.stdout)
    assert report["header"]["alg"] == "##[stop-commands]pwned"  # JSON escapes: the value reads back intact
    assert report["claims"]["y"].startswith("###teamcity[")


@pytest.mark.parametrize("flags", [("--output", "{key}"), ("--output", "./link.p8"), ("--export", "--dotenv", "{key}")])
def test_the_token_is_never_written_over_the_key_file(flags: tuple[str, ...], tmp_path: Path) -> None:
    # Apple keeps no copy of a .p8: `-k AuthKey_X.p8 -o AuthKey_X.p8` would lose it for good.
    key = KEY.write(tmp_path, "AuthKey_2X9R4HXF34.p8")
    (tmp_path / "link.p8").symlink_to(key.name)
    before = key.read_bytes()
    args = [flag.format(key=key) for flag in flags]
    result = xc("generate", "--key", str(key), "--issuer-id", ISSUER_ID, *args, cwd=tmp_path)
    assert result.returncode == 3, result.stderr.decode()
    (line,) = result.stderr.decode().splitlines()
    assert "private key file itself" in line and result.stdout == b""
    assert key.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AuthKey_2X9R4HXF34.p8", "link.p8"]


@pytest.mark.parametrize("flags", [("--output", "{key}"), ("--export", "--dotenv", "{key}"),
                                   ("--output", "./link.p8")])
def test_the_token_is_never_written_over_a_key_read_from_stdin(flags: tuple[str, ...], tmp_path: Path) -> None:
    # `xctoken generate --key - -o AuthKey.p8 < AuthKey.p8`: stdin is the key file itself.
    key = KEY.write(tmp_path, "AuthKey_2X9R4HXF34.p8")
    (tmp_path / "link.p8").symlink_to(key.name)
    before = key.read_bytes()
    args = [flag.format(key=key) for flag in flags]
    with open(key, "rb") as stdin:
        result = subprocess.run([sys.executable, "-m", "xctoken", "generate", "--key", "-", "--key-id", KEY_ID,
                                 "--issuer-id", ISSUER_ID,
                                 *args], env=clean_env(GITLAB_CI="true"), stdin=stdin, capture_output=True,
                                cwd=tmp_path, timeout=60)
    assert result.returncode == 3, result.stderr.decode()
    (line,) = result.stderr.decode().splitlines()
    assert "private key file itself (standard input reads it)" in line and result.stdout == b""
    assert key.read_bytes() == before


def test_a_key_given_as_the_output_path_never_becomes_a_file(tmp_path: Path) -> None:
    # With no '/' in it, the key would have named a new file in the working directory.
    body = "".join(KEY.pem.splitlines()[1:-1]).replace("/", "A")
    result = xc("generate", "--output", body, cwd=tmp_path, **ASC_ENV)
    assert result.returncode == 3 and result.stdout == b""
    assert "--output should be a path" in result.stderr.decode() and body[:16] not in result.stderr.decode()
    assert list(tmp_path.iterdir()) == []


def test_output_dash_is_refused_not_a_file_named_dash(tmp_path: Path) -> None:
    result = xc("generate", "--output", "-", cwd=tmp_path, **ASC_ENV)
    assert result.returncode == 3 and "leave out --output" in result.stderr.decode()
    assert not (tmp_path / "-").exists()


def test_decode_with_a_malformed_kid_reports_the_token_not_a_config_error(tmp_path: Path) -> None:
    # KEY_DIR + a token whose kid is "../x": the kid must not be taken for a key ID the user gave.
    directory = key_dir(tmp_path, KEY)
    now = int(time.time())
    token = sign_compact({"alg": "ES256", "kid": "../x", "typ": "JWT"},
                         {"iss": ISSUER_ID, "iat": now - 60, "exp": now + 600, "aud": "appstoreconnect-v1"},
                         KEY.private_key)
    result = xc("decode", token, cwd=tmp_path, KEY_DIR=str(directory))
    assert result.returncode == 5, result.stderr.decode()
    out = result.stdout.decode()
    assert "FAIL  kid is a 10-character key ID" in out
    assert "ok    signature verifies with the given key" in out  # the one key in KEY_DIR was used


def test_format_with_export_is_refused_not_ignored(tmp_path: Path) -> None:
    bash_env = tmp_path / "bash_env"
    result = xc("generate", "--format", "json", "--export", "--ci", "circleci", cwd=tmp_path,
                ASC_KEY_ID=KEY.key_id, ASC_ISSUER_ID=ISSUER_ID, ASC_PRIVATE_KEY_PATH=str(KEY.write(tmp_path)),
                BASH_ENV=str(bash_env))
    assert result.returncode == 3
    (line,) = result.stderr.decode().splitlines()
    assert "--format json" in line and not bash_env.exists()


# ---------------------------------------------------------------------------- hostile values in output

# What no output line may hold raw: C0 but the line's own "\n", DEL, C1, Unicode line separators, bidi controls.
RAW_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def assert_acts_on_nothing(output: str) -> None:
    """No line the runner reads (it splits at "\\r" too) is a workflow command; no terminal escape."""
    assert not RAW_UNSAFE.search(output), ascii(output)
    for line in re.split(r"\r\n|\r|\n", output):
        assert not line.lstrip().startswith("::"), ascii(line)
    # "##[" as the runner's culture-sensitive search sees it: characters of no weight skipped.
    assert not re.search(r"#[^\x00-\x7f]*#", output), ascii(output)


HOSTILE_DIRECTORY = "k\n::error::x\r::stop-commands::tok\x1b[2J\x9b31m\u2028\u202eevil\x7f"


@pytest.mark.parametrize("flag", ["--key", "--key-dir"])
def test_check_shows_a_hostile_key_path_escaped_on_its_line(flag: str, tmp_path: Path) -> None:
    directory = tmp_path / HOSTILE_DIRECTORY
    directory.mkdir()
    key = KEY.write(directory, mode=0o644)  # world-readable: the warning names the path too
    result = xc("check", flag, str(key if flag == "--key" else directory), "--issuer-id", ISSUER_ID,
                cwd=tmp_path)
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, stderr
    assert_acts_on_nothing(stdout)
    assert_acts_on_nothing(stderr)
    shown = r"k\n::error::x\r::stop-commands::tok\u001b[2J\u009b31m\u2028\u202eevil\u007f"
    (key_line,) = [line for line in stdout.splitlines() if line.startswith("key: ")]
    assert shown in key_line
    (warning,) = stderr.splitlines()
    assert warning.startswith("xctoken: warning: ") and shown in warning and "chmod 600" in warning
    assert_no_leak(stdout + stderr, SECRETS)


def test_errors_show_a_hostile_path_escaped(tmp_path: Path) -> None:
    path = tmp_path / "nope\x1b]0;pwned\x07\u202e\x85::error::x" / f"AuthKey_{KEY_ID}.p8"
    result = xc("check", "--key", str(path), "--issuer-id", ISSUER_ID, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 4, stderr
    assert_acts_on_nothing(stderr)
    (line,) = stderr.splitlines()
    assert line.startswith("xctoken: error: the key file ") and r"nope\u001b]0;pwned\u0007\u202e\u0085" in line


HOSTILE_TOKEN_VALUES = {"alg": "#\ufe0f#[stop-commands]tok", "typ": "J\u200bW\u00adT\x1b[2J",
                        "aud": "#\u2060#vso[task.setvariable variable=PATH]/tmp\n::error::x"}


def test_decode_shows_a_hostile_token_as_ascii(tmp_path: Path) -> None:
    # The report quotes alg, typ and aud in its checks: GitHub's "##[" search skips U+FE0F and
    # friends, and repr() kept them raw. Every value is ASCII JSON now, the report all ASCII.
    now = int(time.time())
    hostile = sign_compact({"alg": HOSTILE_TOKEN_VALUES["alg"], "kid": KEY_ID, "typ": HOSTILE_TOKEN_VALUES["typ"]},
                           {"iss": ISSUER_ID, "iat": now - 60, "exp": now + 600, "aud": HOSTILE_TOKEN_VALUES["aud"],
                            "x": "\u202e\u2066\x9b\x1b]8;;https://evil/\x07", "\u2028::warning::y": 1},
                           KEY.private_key)
    text = xc("decode", hostile, cwd=tmp_path)
    as_json = xc("decode", "--json", hostile, cwd=tmp_path)
    for result in (text, as_json):
        assert result.returncode == 5
        stdout, stderr = result.stdout.decode(), result.stderr.decode()
        assert stdout.isascii() and stderr.isascii(), ascii(stdout)
        assert_acts_on_nothing(stdout + stderr)
    report_lines = text.stdout.decode().splitlines()
    assert r'  FAIL  alg is ES256: alg is "#\ufe0f#[stop-commands]tok"' in report_lines
    assert r'  FAIL  typ is JWT: typ is "J\u200bW\u00adT\u001b[2J"' in report_lines
    report = json.loads(as_json.stdout)
    assert {name: report["header"].get(name, report["claims"].get(name)) for name in HOSTILE_TOKEN_VALUES} \
        == HOSTILE_TOKEN_VALUES  # JSON's escapes: the values read back intact


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not strict JSON")


def test_decode_json_is_strict_json_for_non_finite_numbers(tmp_path: Path) -> None:
    # 1e400 reads as an infinite float, which json.dumps writes as Infinity: not JSON.
    payload = (f'{{"iss":"{ISSUER_ID}","iat":{int(time.time()) - 60},"exp":1e400,"nbf":-1e999,'
               '"aud":"appstoreconnect-v1"}').encode()
    token = b64url(json.dumps({"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}).encode()) + "." + \
        b64url(payload) + "." + b64url(b"x" * 64)
    result = xc("decode", "--json", token, cwd=tmp_path)
    assert result.returncode == 5, result.stderr.decode()
    report = json.loads(result.stdout, parse_constant=_refuse_constant)
    assert report["claims"]["exp"] == "Infinity" and report["claims"]["nbf"] == "-Infinity"
    assert {c["rule"] for c in report["checks"] if not c["passed"]} >= {"iat and exp are integer seconds"}
    human = xc("decode", token, cwd=tmp_path)
    assert human.returncode == 5 and "FAIL  iat and exp are integer seconds" in human.stdout.decode()


@pytest.mark.parametrize(("args", "env"), [
    (("check", "--lifetime", "\u0661\u0662\u0660\u0660"), {}),
    (("check", "--lifetime", "\uff12\uff10m"), {}),
    (("check",), {"XCTOKEN_LIFETIME": "\u0967\u0968\u0966\u0966"}),
    (("check", "--clock-skew", "\uff16\uff10"), {}),
    (("check",), {"XCTOKEN_CLOCK_SKEW": "\u0666\u0660s"}),
    (("generate", "--cache", "--min-valid", "\uff15m"), {}),
])
def test_durations_with_non_ascii_digits_are_configuration_errors(
        args: tuple[str, ...], env: dict[str, str], tmp_path: Path) -> None:
    result = xc(*args, cwd=tmp_path, **ASC_ENV, XCTOKEN_CACHE_DIR=str(tmp_path / "cache"), **env)
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    (line,) = stderr.splitlines()
    assert line.startswith("xctoken: error: ") and "whole number of seconds" in line and "non-ASCII" in line
    assert result.stdout == b""


@pytest.mark.parametrize("args", [
    ("check", "x\x1b]0;pwned\x07\u202e##[stop-commands]tok\u2028::error::y"),
    ("generate", "--format", "#\ufe0f#[stop-commands]tok\x1b[2J"),
])
def test_usage_errors_show_what_was_typed_escaped(args: tuple[str, ...], tmp_path: Path) -> None:
    # argparse quotes an unknown argument as typed: it goes out through the same escaping.
    result = xc(*args, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert_acts_on_nothing(stderr)
    (line,) = stderr.splitlines()
    assert line.startswith("xctoken: error: ") and "stop-commands" in line
