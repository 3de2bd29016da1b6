"""What a user would write instead of xctoken: PyJWT signing the same claims.

    python bench/minimal_pyjwt.py AuthKey_<KEYID>.p8 KEYID ISSUER_ID

Same header and claims as ``xctoken generate`` with its defaults (iat back-dated
60 s, exp 20 minutes after iat), no validation, no options: the least that works.
"""

from __future__ import annotations

import sys
import time

import jwt

key_path, key_id, issuer_id = sys.argv[1:4]
with open(key_path, "rb") as key_file:
    key = key_file.read()
issued_at = int(time.time()) - 60
claims = {"iss": issuer_id, "iat": issued_at, "exp": issued_at + 1200, "aud": "appstoreconnect-v1"}
print(jwt.encode(claims, key, algorithm="ES256", headers={"kid": key_id, "typ": "JWT"}))
