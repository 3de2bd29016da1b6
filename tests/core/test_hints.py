"""Small things a user trips on: hints in the user's own variables, an honest decode, a usable Token.

- A missing key ID, issuer ID or key is named in the variable family the user's other
  settings come from (the project's ASC_*, fastlane's APP_STORE_CONNECT_API_KEY_*, the Ruby
  gem's KEY_ID / ISSUER_ID / KEY_DIR): telling a fastlane user to set ASC_ISSUER_ID sends
  them to a variable nothing else of theirs reads.
- The no-key error lists every directory that was searched.
- ``decode`` without a key does not say a bare "valid": only the shape was checked.
- ``f"Bearer {token}"`` stays secret-safe (it shows ``Token(header=...)``), and the right
  way is one attribute away: ``token.authorization``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import ISSUER_ID, KEY_ID, TestKey, clean_env, run_cli
from cryptography.hazmat.primitives.asymmetric import ec

from xctoken import Token, TokenRequest, mint_token
from xctoken.settings import altool_directories

KEY = TestKey(ec.generate_private_key(ec.SECP256R1()))

FAMILIES = {
    "asc": {"key_id": "ASC_KEY_ID", "issuer_id": "ASC_ISSUER_ID", "key": "ASC_PRIVATE_KEY_PATH"},
    "fastlane": {"key_id": "APP_STORE_CONNECT_API_KEY_KEY_ID", "issuer_id": "APP_STORE_CONNECT_API_KEY_ISSUER_ID",
                 "key": "APP_STORE_CONNECT_API_KEY_KEY_FILEPATH"},
    "gem": {"key_id": "KEY_ID", "issuer_id": "ISSUER_ID", "key": "KEY_DIR"},
}
OTHER_FAMILIES_NAMES = {family: {name for other, names in FAMILIES.items() if other != family
                                 for name in names.values()} for family in FAMILIES}


def error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xctoken: error: "), lines
    return lines[0]


def assert_names_only(line: str, family: str, setting: str) -> None:
    wanted = FAMILIES[family][setting]
    assert wanted in line, f"the hint should name {wanted} for a {family} user: {line}"
    # No variable of another family, which the user's own setup does not read.
    words = set(line.replace(",", " ").replace("(", " ").replace(")", " ").split())
    assert not words & OTHER_FAMILIES_NAMES[family], f"a {family} user is sent to another family: {line}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_missing_key_id_is_named_in_the_users_family(family: str, tmp_path: Path) -> None:
    key_file = KEY.write(tmp_path, "key.p8")  # not named AuthKey_<ID>.p8: no key ID from the name
    env = {FAMILIES[family]["issuer_id"]: ISSUER_ID}
    env.update({FAMILIES[family]["key"]: str(key_file)} if family != "gem" else {})
    args = ("generate",) if family != "gem" else ("generate", "--key", str(key_file))
    result = run_cli(*args, env=clean_env(**env), cwd=tmp_path)
    assert result.returncode == 3
    line = error_line(result)
    assert "key ID is missing" in line
    assert_names_only(line, family, "key_id")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_missing_issuer_id_is_named_in_the_users_family(family: str, tmp_path: Path) -> None:
    key_file = KEY.write(tmp_path)
    env = {FAMILIES[family]["key_id"]: KEY_ID,
           FAMILIES[family]["key"]: str(tmp_path if family == "gem" else key_file)}
    result = run_cli("generate", env=clean_env(**env), cwd=tmp_path)
    assert result.returncode == 3
    line = error_line(result)
    assert "issuer ID is missing" in line and "--key-type individual" in line
    assert_names_only(line, family, "issuer_id")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_missing_key_is_named_in_the_users_family(family: str, tmp_path: Path) -> None:
    env = {FAMILIES[family]["key_id"]: KEY_ID, FAMILIES[family]["issuer_id"]: ISSUER_ID}
    result = run_cli("generate", env=clean_env(HOME=str(tmp_path / "home"), **env), cwd=tmp_path)
    assert result.returncode == 4
    line = error_line(result)
    assert "no private key given" in line
    assert_names_only(line, family, "key")


def test_with_no_variables_at_all_the_hint_uses_the_projects_own(tmp_path: Path) -> None:
    result = run_cli("generate", env=clean_env(HOME=str(tmp_path / "home")), cwd=tmp_path)
    line = error_line(result)
    assert "ASC_PRIVATE_KEY_PATH" in line and "KEY_DIR" not in line


def test_the_no_key_error_lists_every_directory_searched(tmp_path: Path) -> None:
    home, named = tmp_path / "home", tmp_path / "named-keys"
    env = clean_env(HOME=str(home), API_PRIVATE_KEYS_DIR=str(named), ASC_KEY_ID=KEY_ID, ASC_ISSUER_ID=ISSUER_ID)
    result = run_cli("generate", env=env, cwd=tmp_path)
    assert result.returncode == 4
    line = error_line(result)
    searched = altool_directories(env)
    assert len(searched) == 5  # API_PRIVATE_KEYS_DIR, ./private_keys and the three under HOME
    assert "./private_keys" in searched
    for directory in searched:
        assert directory in line, f"{directory} was searched but the error does not say so: {line}"
    assert f"AuthKey_{KEY_ID}.p8" in line  # the file name it looked for, with the key ID it has


def test_without_home_the_error_says_why_no_home_directory_was_searched(tmp_path: Path) -> None:
    env = clean_env(ASC_KEY_ID=KEY_ID, ASC_ISSUER_ID=ISSUER_ID)
    env.pop("HOME", None)
    line = error_line(run_cli("generate", env=env, cwd=tmp_path))
    assert "./private_keys" in line and "HOME is not set" in line


# ------------------------------------------------------------------------------- decode


def _token() -> Token:
    return mint_token(TokenRequest(key_id=KEY_ID, issuer_id=ISSUER_ID), KEY.private_key)


def result_line(stdout: bytes) -> str:
    (line,) = [line for line in stdout.decode().splitlines() if line.startswith("result:")]
    return line


def test_decode_without_a_key_says_the_signature_was_not_verified_and_how_to(tmp_path: Path) -> None:
    result = run_cli("decode", "-", env=clean_env(), input=_token().value, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = result_line(result.stdout)
    assert line != "result: valid", "a bare 'valid' reads as 'Apple accepts it'; only the shape was checked"
    assert "NOT verified" in line
    assert f"--key AuthKey_{KEY_ID}.p8" in line and "--key-env" in line  # how to verify it


def test_decode_with_the_key_says_plainly_valid(tmp_path: Path) -> None:
    key_file = KEY.write(tmp_path)
    result = run_cli("decode", "-", "--key", str(key_file), env=clean_env(), input=_token().value, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result_line(result.stdout) == "result: valid"


# -------------------------------------------------------------------------------- Token


def test_a_token_in_an_f_string_stays_secret() -> None:
    token = _token()
    assert token.value not in f"Bearer {token}" and token.value not in str(token) + repr(token)
    assert f"Bearer {token}".startswith("Bearer Token(")


def test_token_authorization_is_the_header_value() -> None:
    token = _token()
    assert token.authorization == "Bearer " + token.value
    assert token.value.count(".") == 2 and token.value.startswith("eyJ")


def test_the_docstring_points_from_the_warning_to_the_right_way() -> None:
    doc = Token.__doc__ or ""
    assert 'f"Bearer {token}"' in doc and "token.authorization" in doc and "token.value" in doc


@pytest.mark.parametrize("value", ["/home/runner/keys/AuthKey_2X9R4HXF34.p8", "~/AuthKey_2X9R4HXF34.p8",
                                   "./private_keys/AuthKey_2X9R4HXF34.p8", "AuthKey_2X9R4HXF34.p8"])
def test_a_path_in_the_key_content_variable_points_to_the_path_variable(value: str, tmp_path: Path) -> None:
    env = clean_env(HOME=str(tmp_path), ASC_KEY_ID=KEY_ID, ASC_ISSUER_ID=ISSUER_ID, ASC_PRIVATE_KEY=value)
    result = run_cli("generate", env=env, cwd=tmp_path)
    assert result.returncode == 4
    line = error_line(result)
    assert "looks like a file path" in line and "ASC_PRIVATE_KEY_PATH" in line
    assert value not in line  # a value in the wrong variable may be a secret: described, never quoted


@pytest.mark.parametrize("setting", ["KEY_DIR", "--key-dir"])
def test_a_key_file_named_as_the_directory_says_so(setting: str, tmp_path: Path) -> None:
    key_file = KEY.write(tmp_path)
    env = clean_env(HOME=str(tmp_path), KEY_ID=KEY_ID, ISSUER_ID=ISSUER_ID)
    args = ["generate"]
    if setting == "KEY_DIR":
        env["KEY_DIR"] = str(key_file)
    else:
        args += ["--key-dir", str(key_file)]
    result = run_cli(*args, env=env, cwd=tmp_path)
    assert result.returncode == 4
    line = error_line(result)
    assert f"{setting} names a file, not a directory" in line and "ASC_PRIVATE_KEY_PATH" in line


def test_a_failure_caused_by_two_families_says_which_one_won(tmp_path: Path) -> None:
    """ASC_KEY_ID beats the gem's KEY_ID and names a file KEY_DIR lacks: the error says why."""
    KEY.write(tmp_path)  # AuthKey_<KEY_ID>.p8, which the gem's settings would have found
    env = clean_env(HOME=str(tmp_path), ASC_KEY_ID="ZZZZZZZZZZ", KEY_ID=KEY_ID, ISSUER_ID=ISSUER_ID,
                    KEY_DIR=str(tmp_path))
    result = run_cli("generate", env=env, cwd=tmp_path)
    assert result.returncode == 4
    line = error_line(result)
    assert "AuthKey_ZZZZZZZZZZ.p8 does not exist" in line
    assert "KEY_ID also set" in line and "using ASC_KEY_ID" in line


def test_decode_finds_the_key_where_generate_does(tmp_path: Path) -> None:
    """The kid names AuthKey_<kid>.p8; in ~/private_keys (altool's directories) decode verifies with it."""
    home = tmp_path / "home"
    (home / "private_keys").mkdir(parents=True)
    KEY.write(home / "private_keys")
    result = run_cli("decode", "-", env=clean_env(HOME=str(home)), input=_token().value, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok    signature verifies with the given key" in result.stdout.decode()
    assert result_line(result.stdout) == "result: valid"


def test_decode_reports_when_the_environment_names_no_file_for_the_kid(tmp_path: Path) -> None:
    env = clean_env(HOME=str(tmp_path / "home"), KEY_DIR=str(tmp_path))  # no AuthKey_<kid>.p8 there
    result = run_cli("decode", "-", env=env, input=_token().value, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert f"signature not verified: the key file {tmp_path}/AuthKey_{KEY_ID}.p8 does not exist (from KEY_DIR)" in out
    assert "signature is NOT verified" in result_line(result.stdout)


def test_decode_with_a_key_named_by_flag_that_is_missing_is_an_error(tmp_path: Path) -> None:
    result = run_cli("decode", "-", "--key-dir", str(tmp_path), env=clean_env(HOME=str(tmp_path)),
                     input=_token().value, cwd=tmp_path)
    assert result.returncode == 4
    assert "does not exist (from --key-dir)" in error_line(result)
