"""``xctoken generate --cache``: reuse while valid for --min-valid, never a torn or foreign file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ISSUER_ID, clean_env
from conftest import TestKey as AscKey
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jwt

from xctoken import Signer, TokenRequest, load_private_key
from xctoken.cache import cache_directory, cache_file_name, cached_or_new


def verify(token: str, key: AscKey) -> dict:
    pem = key.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    return json.loads(jwt.JWT(jwt=token, key=jwk.JWK.from_pem(pem), algs=["ES256"]).claims)


def signer(key: AscKey, **kwargs: object) -> Signer:
    return Signer(TokenRequest(key_id=key.key_id, issuer_id=ISSUER_ID, **kwargs), load_private_key(key.pem))  # type: ignore[arg-type]


def test_fifty_parallel_calls_leave_one_valid_cache_file(test_key: AscKey, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**clean_env(), "ASC_PRIVATE_KEY": test_key.pem, "ASC_KEY_ID": test_key.key_id,
           "ASC_ISSUER_ID": ISSUER_ID, "XCTOKEN_CACHE_DIR": str(cache)}
    argv = [sys.executable, "-m", "xctoken", "generate", "--cache"]

    def call(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(call, range(50)))
    assert [r.returncode for r in results] == [0] * 50, [r.stderr for r in results if r.returncode]
    tokens = {r.stdout.strip() for r in results}
    for token in tokens:
        assert verify(token, test_key)["iss"] == ISSUER_ID
    files = sorted(cache.iterdir())
    assert len(files) == 1 and files[0].name.startswith("token-") and files[0].suffix == ".jwt", files
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert files[0].read_text() in tokens
    body_lines = [line for line in test_key.pem.splitlines() if not line.startswith("-----")]
    assert not any(line in files[0].read_text() for line in body_lines)
    # The next call reuses the cached token rather than minting.
    assert call(0).stdout.strip() == files[0].read_text()


def test_reused_until_less_than_min_valid_is_left(test_key: AscKey, tmp_path: Path) -> None:
    env = {"XCTOKEN_CACHE_DIR": str(tmp_path)}
    mint = signer(test_key)
    first, _ = cached_or_new(mint, env, 300, now=1_900_000_000)
    again, _ = cached_or_new(mint, env, 300, now=1_900_000_000 + 839)  # exp - now = 301
    assert again.value == first.value
    later, _ = cached_or_new(mint, env, 300, now=1_900_000_000 + 841)  # 299 left: too little
    assert later.value != first.value and int(later.claims["iat"]) == 1_900_000_000 + 841 - 60  # type: ignore[call-overload]


def test_different_settings_or_keys_never_share_a_file(test_key: AscKey, make_key) -> None:
    other_key = make_key(test_key.key_id)  # same key ID, another key (a rotated .p8)
    names = {cache_file_name(signer(test_key)), cache_file_name(signer(test_key, lifetime=600)),
             cache_file_name(signer(test_key, scope=("GET /v1/apps",))), cache_file_name(signer(other_key))}
    assert len(names) == 4


def test_a_damaged_or_foreign_cache_file_is_replaced_not_used(test_key: AscKey, tmp_path: Path) -> None:
    env = {"XCTOKEN_CACHE_DIR": str(tmp_path)}
    mint = signer(test_key)
    first, _ = cached_or_new(mint, env, 300, now=1_900_000_000)
    path = tmp_path / cache_file_name(mint)
    header, claims, signature = first.value.split(".")
    tampered = f"{header}.{claims}.{signature[:-4]}AAAA"
    path.write_text(tampered)
    os.chmod(path, 0o600)
    token, _ = cached_or_new(mint, env, 300, now=1_900_000_010)
    assert token.value not in (tampered, first.value)
    assert path.read_text() == token.value
    os.chmod(path, 0o644)  # readable by others: not trusted
    again, _ = cached_or_new(mint, env, 300, now=1_900_000_020)
    assert again.value != token.value


def test_a_directory_others_can_write_is_not_used(test_key: AscKey, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    token, warnings = cached_or_new(signer(test_key), {"XCTOKEN_CACHE_DIR": str(shared)}, 300, now=1_900_000_000)
    assert warnings and "not a private directory" in warnings[0]
    assert list(shared.iterdir()) == []
    assert verify(token.value, test_key)["iss"] == ISSUER_ID  # minted all the same


def test_where_the_cache_lives() -> None:
    assert cache_directory({"GITHUB_ACTIONS": "true", "RUNNER_TEMP": "/rt"}) == Path("/rt/xctoken/cache")
    assert cache_directory({"XCTOKEN_CACHE_DIR": "/c", "RUNNER_TEMP": "/rt", "GITHUB_ACTIONS": "true"}) == Path("/c")
    if sys.platform.startswith("linux"):
        assert cache_directory({"HOME": "/h"}) == Path("/h/.cache/xctoken")
        assert cache_directory({"HOME": "/h", "XDG_CACHE_HOME": "/x"}) == Path("/x/xctoken")


@pytest.mark.parametrize("argv, message", [
    (["--min-valid", "5m"], "--min-valid applies only with --cache"),
    (["--cache", "--min-valid", "19m"], "not shorter than a fresh token lives"),
    (["--cache", "--min-valid", "soon"], "--min-valid"),
])
def test_bad_min_valid_is_a_configuration_error(test_key: AscKey, argv: list[str], message: str,
                                                tmp_path: Path) -> None:
    env = {**clean_env(), "ASC_PRIVATE_KEY": test_key.pem, "ASC_KEY_ID": test_key.key_id,
           "ASC_ISSUER_ID": ISSUER_ID, "XCTOKEN_CACHE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "xctoken", "generate", *argv], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 3 and message in result.stderr and result.stdout == ""
