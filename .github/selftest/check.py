"""Check, in a later step, what the xctoken action handed over. Standard library + the openssl CLI.

Reads everything from environment variables (never argv: the token must not reach a
command line). The token is verified, not just found: header and claims against
Apple's rules, and the ES256 signature with `openssl dgst -verify` against the public
half of the key made by make-key.sh. Prints only non-secret facts.

  OUTPUT_TOKEN, ENV_TOKEN      the `token` output and the exported variable (must be equal)
  EXPIRES_AT, EXPIRES_AT_EPOCH the outputs of the same names
  PUBLIC_KEY_PATH, KEY_ID, ISSUER_ID
  KEY_FILE, KEYS_DIR, JSON_FILE (optional) the write-key-file outputs; API_PRIVATE_KEYS_DIR
  KEY_FILES_UNREACHABLE        set (to the reason) where the files cannot reach this step
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone


def b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\x00") or b"\x00"
    if value[0] & 0x80:
        value = b"\x00" + value
    return b"\x02" + bytes([len(value)]) + value


def raw_to_der(signature: bytes) -> bytes:
    body = der_integer(signature[:32]) + der_integer(signature[32:])
    return b"\x30" + bytes([len(body)]) + body


def fail(message: str) -> None:
    print(f"::error title=self-test::{message}")
    sys.exit(1)


def verify(token: str, public_key: str, key_id: str, issuer_id: str) -> dict:
    parts = token.split(".")
    if len(parts) != 3:
        fail("the token is not a compact JWS")
    header, claims = json.loads(b64url(parts[0])), json.loads(b64url(parts[1]))
    if header != {"alg": "ES256", "kid": key_id, "typ": "JWT"}:
        fail(f"unexpected header {header}")
    now = time.time()
    if claims.get("iss") != issuer_id or claims.get("aud") != "appstoreconnect-v1":
        fail("iss or aud is wrong")
    if not (claims["iat"] <= now < claims["exp"] and claims["exp"] - claims["iat"] <= 1200):
        fail("iat/exp are not a valid window of at most 20 minutes around now")
    signature = b64url(parts[2])
    if len(signature) != 64:
        fail("the signature is not 64 raw bytes (R||S)")
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "data"), "wb") as handle:
            handle.write(f"{parts[0]}.{parts[1]}".encode())
        with open(os.path.join(work, "sig"), "wb") as handle:
            handle.write(raw_to_der(signature))
        result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", public_key, "-signature",
                                 os.path.join(work, "sig"), os.path.join(work, "data")],
                                capture_output=True, text=True)
    if result.returncode != 0 or "Verified OK" not in result.stdout:
        fail("openssl could not verify the token's signature")
    return claims


def check_key_files(env: dict[str, str], public_key: str) -> None:
    key_file, keys_dir, json_file = env["KEY_FILE"], env["KEYS_DIR"], env["JSON_FILE"]
    if os.path.dirname(key_file) != keys_dir or env.get("API_PRIVATE_KEYS_DIR") != keys_dir:
        fail("private-key-path, private-keys-dir and API_PRIVATE_KEYS_DIR disagree")
    workspace = os.path.realpath(env.get("GITHUB_WORKSPACE", "/nonexistent"))
    for path in (key_file, json_file):
        if os.path.realpath(path).startswith(workspace + os.sep):
            fail(f"{path} is inside the workspace")
        if os.name == "posix" and stat.S_IMODE(os.stat(path).st_mode) != 0o600:
            fail(f"{path} is not mode 0600")
    derived = subprocess.run(["openssl", "pkey", "-in", key_file, "-pubout"], capture_output=True, text=True)
    with open(public_key) as handle:
        if derived.returncode != 0 or derived.stdout.strip() != handle.read().strip():
            fail("the key file does not hold the key that was given")
    with open(json_file) as handle:
        data = json.load(handle)
    with open(key_file) as handle:
        if data.get("key_id") != env["KEY_ID"] or data.get("key") != handle.read():
            fail("the fastlane API key JSON does not match")
    print(f"key files: {os.path.basename(key_file)} and {os.path.basename(json_file)} (0600, outside the workspace)")


def main() -> None:
    env = dict(os.environ)
    output_token, env_token = env.get("OUTPUT_TOKEN", ""), env.get("ENV_TOKEN", "")
    if not output_token or output_token != env_token:
        fail("the token output and the exported variable are missing or differ")
    claims = verify(output_token, env["PUBLIC_KEY_PATH"], env["KEY_ID"], env["ISSUER_ID"])
    if env.get("EXPIRES_AT_EPOCH") != str(claims["exp"]):
        fail("expires-at-epoch is not the token's exp")
    stamp = datetime.fromtimestamp(claims["exp"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if env.get("EXPIRES_AT") != stamp:
        fail("expires-at is not the token's exp in ISO 8601 UTC")
    print(f"token verified with openssl: kid {env['KEY_ID']}, expires {stamp}")
    # Not secret (the whole token is): shows the log keeps what steps print verbatim.
    print(f"token header segment: {output_token.split('.')[0]}")
    if env.get("KEY_FILE") and env.get("KEY_FILES_UNREACHABLE"):
        runner_temp = env.get("RUNNER_TEMP", "/nonexistent")
        for name in ("KEY_FILE", "KEYS_DIR", "JSON_FILE"):
            if not env[name].startswith(runner_temp.rstrip("/") + "/xctoken"):
                fail(f"{name} is not under RUNNER_TEMP")
        print(f"key files: paths checked, contents not: {env['KEY_FILES_UNREACHABLE']}")
    elif env.get("KEY_FILE"):
        check_key_files(env, env["PUBLIC_KEY_PATH"])
    print("SELFTEST-CHECKS-PASSED")


if __name__ == "__main__":
    main()
