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

With an argument, a later step's check of mint-on-demand instead: `on-demand` (xctoken on
PATH mints a valid token, the key file is private), `after-expiry` (the same, once the
token in FIRST_TOKEN_EXPIRES_AT_EPOCH has expired), `one-token` (mint-on-demand: false left
nothing behind).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
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


def check_on_demand(env: dict[str, str]) -> None:
    """A later step mints its own token: `xctoken` on PATH, ASC_* set, the key file private."""
    xctoken = shutil.which("xctoken")
    if xctoken is None:
        fail("xctoken is not on PATH in a later step")
    # Captured here, never passed on: the token stays out of every command line and variable.
    result = subprocess.run([xctoken, "generate"], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"xctoken generate failed in a later step (exit {result.returncode})")
    claims = verify(result.stdout.strip(), env["PUBLIC_KEY_PATH"], env["KEY_ID"], env["ISSUER_ID"])
    key_file = env.get("ASC_PRIVATE_KEY_PATH", "")
    runner_temp = os.path.realpath(env["RUNNER_TEMP"])
    if not os.path.realpath(key_file).startswith(runner_temp + os.sep) or \
            os.path.basename(key_file) != f"AuthKey_{env['KEY_ID']}.p8":
        fail("ASC_PRIVATE_KEY_PATH is not AuthKey_<KEYID>.p8 under RUNNER_TEMP")
    if os.name == "posix":
        info = os.stat(key_file)
        if stat.S_IMODE(info.st_mode) != 0o600 or info.st_uid != os.getuid():
            fail("the key file is not 0600 and owned by this step's user")
    with open(key_file):
        pass  # readable by this step's user
    print(f"on demand: a later step minted a fresh token, valid {claims['exp'] - claims['iat']} s")


def check_after_expiry(env: dict[str, str]) -> None:
    """Wait out the short-lived token of an earlier step, once, then mint again."""
    expires = int(env["FIRST_TOKEN_EXPIRES_AT_EPOCH"])
    time.sleep(max(0.0, expires - time.time() + 1.5))
    if time.time() <= expires:
        fail("the first token has not expired yet")
    check_on_demand(env)
    print("SELFTEST-AFTER-EXPIRY-PASSED")


def check_one_token(env: dict[str, str]) -> None:
    """mint-on-demand: false: nothing on PATH, no key file, no ASC_* variables."""
    if shutil.which("xctoken") or env.get("ASC_PRIVATE_KEY_PATH") or \
            os.path.exists(os.path.join(env["RUNNER_TEMP"], "xctoken")):
        fail("mint-on-demand: false left xctoken, a key file or ASC_* variables behind")
    print("SELFTEST-ONE-TOKEN-PASSED")


def main() -> None:
    env = dict(os.environ)
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode:
        {"on-demand": check_on_demand, "after-expiry": check_after_expiry, "one-token": check_one_token}[mode](env)
        if mode == "on-demand":
            print("SELFTEST-ON-DEMAND-PASSED")
        return
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
