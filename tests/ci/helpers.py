"""Helpers for the CI adapter tests: tokens, an independent verifier, hostile inputs, stand-ins.

Tokens are verified with jwcrypto, an implementation independent of xctoken and
PyJWT, so a test cannot pass by checking our signing code against itself.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from conftest import ISSUER_ID, TestKey, clean_env
from jwcrypto import jwk, jwt

from xctoken.ci import ExportJob
from xctoken.claims import TokenRequest
from xctoken.keys import load_private_key
from xctoken.signing import Token, mint_token

# Names each adapter must refuse before writing anything: they would inject another
# record (=, <<, newline, ], ;, quotes) or are not variable names at all.
HOSTILE_NAMES = ["A=B", "X<<Y", "A\nB", "A]B", "A'B", "A;B", "A B", "1ABC", "", "A\rB", "A%B", "A|B",
                 "A$B", "A\"B", "A\x00B", "Ä"]
# Values no adapter may carry: each ends a record or a line in some protocol.
HOSTILE_VALUES = ["abc\ndef", "abc\rdef", "abc\x00def", "a\x1bb", "abc\x7f", ""]


def mint(test_key: TestKey) -> Token:
    return mint_token(TokenRequest(key_id=test_key.key_id, issuer_id=ISSUER_ID), test_key.private_key)


def fake_token(value: str) -> Token:
    """A Token carrying an arbitrary (hostile) value, to test what adapters refuse."""
    return Token(value, {"alg": "ES256", "kid": "2X9R4HXF34", "typ": "JWT"},
                 {"iss": ISSUER_ID, "iat": 1_700_000_000, "exp": 1_700_001_000, "aud": "appstoreconnect-v1"})


def job_for(token: Token, name: str = "APP_STORE_CONNECT_TOKEN", env: Mapping[str, str] | None = None,
            test_key: TestKey | None = None, **fields: object) -> ExportJob:
    key = load_private_key(test_key.pem) if test_key else None
    return ExportJob(name, token, dict(env or {}), key, **fields)  # type: ignore[arg-type]


def verify(token_text: str, test_key: TestKey) -> dict[str, object]:
    """Check a token with jwcrypto against the test key's public half; return its claims."""
    public = jwk.JWK.from_pyca(test_key.private_key.public_key())
    checked = jwt.JWT(jwt=token_text.strip(), key=public, algs=["ES256"],
                      check_claims={"aud": "appstoreconnect-v1", "iss": ISSUER_ID, "exp": None})
    header = json.loads(checked.header)
    assert header == {"alg": "ES256", "kid": test_key.key_id, "typ": "JWT"}
    return json.loads(checked.claims)


def cli_env(test_key: TestKey, directory: Path, **extra: str) -> dict[str, str]:
    """A clean environment with the test key's ASC_* settings (the key in a 0600 file)."""
    path = test_key.write(directory)
    return clean_env(ASC_KEY_ID=test_key.key_id, ASC_ISSUER_ID=ISSUER_ID, ASC_PRIVATE_KEY_PATH=str(path),
                     **extra)


STANDIN_SOURCE = """#!{python}
# Recording stand-in for {name}: appends its argv and stdin to $STANDIN_LOG as one
# JSON line, then exits with $STANDIN_EXIT (default 0). Written by the tests.
import json, os, sys
data = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
with open(os.environ["STANDIN_LOG"], "a") as log:
    log.write(json.dumps({{"program": {name!r}, "argv": sys.argv[1:], "stdin": data}}) + "\\n")
sys.exit(int(os.environ.get("STANDIN_EXIT", "0")))
"""


def install_standin(directory: Path, name: str) -> Path:
    """Put an executable recording stand-in called ``name`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(STANDIN_SOURCE.format(python=sys.executable, name=name))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def standin_env(directory: Path, log: Path, **extra: str) -> dict[str, str]:
    """PATH with the stand-ins first, and where they record."""
    return {"PATH": f"{directory}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "STANDIN_LOG": str(log), **extra}


def recorded(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
