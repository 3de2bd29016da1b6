"""xctoken's main job, end to end, on a throwaway key made on the spot.

Makes a P-256 key in a temporary directory (as Apple's AuthKey_<KEYID>.p8),
runs `xctoken generate` the way a CI job would, then `xctoken decode` to check
the token against Apple's rules and verify its signature. The key and the
directory are deleted at the end; nothing here can reach Apple.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEMO_KEY_ID = "DEMO2X9R4H"
DEMO_ISSUER_ID = "57246542-96fe-1a63-e053-0824d011072a"  # Apple's documentation example


# Only these of the caller's variables reach xctoken: credentials already exported for a real
# key (ASC_*, fastlane's, XCTOKEN_*) or a CI's markers would otherwise change what the demo signs.
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT", "TERM")


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="xctoken-demo-") as workdir:
        key_file = Path(workdir) / f"AuthKey_{DEMO_KEY_ID}.p8"
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        step(f"made a throwaway P-256 key: {key_file.name} (mode 600, in a temporary directory)")

        env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
        env.update({"ISSUER_ID": DEMO_ISSUER_ID, "KEY_ID": DEMO_KEY_ID, "KEY_DIR": workdir})
        # -I, as the launchers do: the current directory (and PYTHON* variables) never shadow xctoken.
        xctoken = [sys.executable, "-I", "-m", "xctoken"]
        step("xctoken check  (the configuration, offline; prints no token)")
        subprocess.run([*xctoken, "check"], env=env, check=True)

        step("xctoken generate  (ISSUER_ID, KEY_ID and KEY_DIR, as with the original Ruby gem)")
        token = subprocess.run([*xctoken, "generate"], env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
        print(f"signed a {len(token)}-character token (not shown: treat tokens as secrets)")

        step("xctoken decode - --key ...  (Apple's rules, and the signature, checked)")
        subprocess.run([*xctoken, "decode", "-", "--key", str(key_file)], env=env, check=True,
                       input=token, text=True)

    step("the demo key is deleted. With your real key (pipx install xctoken), the same job is:")
    print("  export ASC_ISSUER_ID=<issuer id> ASC_KEY_ID=<key id> ASC_PRIVATE_KEY_PATH=<path to AuthKey_<key id>.p8>")
    print("  token=$(xctoken generate)")
    print("  printf 'Authorization: Bearer %s\\n' \"$token\" | curl -fsS -H @- https://api.appstoreconnect.apple.com/v1/apps")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as failed:  # xctoken said why on stderr, in one line
        print(f"demo: `xctoken {failed.cmd[3]}` failed (exit {failed.returncode}); see its message above",
              file=sys.stderr)
        sys.exit(failed.returncode)
