"""The floor for a Python CLI: cryptography alone loading the key and signing the same claims.

    python bench/minimal_cryptography.py AuthKey_<KEYID>.p8 KEYID ISSUER_ID

Same header and claims as ``xctoken generate`` with its defaults (iat back-dated
60 s, exp 20 minutes after iat), the same compact JSON, the DER signature turned
into JWS's raw 64-byte R || S: what any Python token tool has to import and do.
No validation, no options, no error handling.
"""

import base64
import json
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(value: dict) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


key_path, key_id, issuer_id = sys.argv[1:4]
with open(key_path, "rb") as key_file:
    key = serialization.load_pem_private_key(key_file.read(), password=None)
issued_at = int(time.time()) - 60
header = {"alg": "ES256", "kid": key_id, "typ": "JWT"}
claims = {"iss": issuer_id, "iat": issued_at, "exp": issued_at + 1200, "aud": "appstoreconnect-v1"}
signing_input = f"{b64url(compact(header))}.{b64url(compact(claims))}"
r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
print(f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}")
