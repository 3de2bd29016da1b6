#!/bin/sh
# The process floor: an App Store Connect token from a shell pipeline around
# the openssl CLI, with the same header and claims `xctoken generate` makes.
#
#   sh bench/openssl_token.sh AuthKey_<KEYID>.p8 KEYID ISSUER_ID
#   sh bench/openssl_token.sh --raw-signature < signature.der   (the DER step alone, for tests)
#
# openssl writes ECDSA signatures as DER; JWS (and Apple) want the raw 64-byte
# R || S, so the two INTEGERs are read back with `openssl asn1parse`, each
# left-padded (or stripped of DER's sign byte) to 32 bytes. POSIX tools and openssl
# only (macOS too): base64 by `openssl base64`, hex to bytes by awk and printf %b.
set -eu

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# DER ECDSA-Sig-Value on stdin -> base64url of R || S (32 bytes each).
der_to_raw_b64url() {
    openssl asn1parse -inform DER \
        | awk -F: '
            BEGIN { for (i = 0; i < 16; i++) digit[substr("0123456789ABCDEF", i + 1, 1)] = i }
            /INTEGER/ {
                h = toupper($NF); while (length(h) < 64) h = "0" h; h = substr(h, length(h) - 63)
                # Each byte as a \0ooo escape, for printf %b: no xxd or basenc needed.
                for (i = 1; i <= 64; i += 2)
                    printf "\\0%03o", digit[substr(h, i, 1)] * 16 + digit[substr(h, i + 1, 1)]
            }
            END { print "" }' \
        | { read -r escapes; printf '%b' "$escapes"; } \
        | b64url
}

if [ "${1:-}" = "--raw-signature" ]; then
    der_to_raw_b64url
    echo
    exit 0
fi

key=$1 kid=$2 iss=$3
now=$(date +%s)
iat=$((now - 60))          # the CLI's default clock skew
exp=$((iat + 1200))        # and lifetime (Apple's 20-minute limit)
header=$(printf '{"alg":"ES256","kid":"%s","typ":"JWT"}' "$kid" | b64url)
claims=$(printf '{"iss":"%s","iat":%d,"exp":%d,"aud":"appstoreconnect-v1"}' "$iss" "$iat" "$exp" | b64url)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$key" | der_to_raw_b64url)
[ ${#signature} -eq 86 ] || { echo "openssl_token.sh: the signature is not 64 bytes of R || S" >&2; exit 1; }
printf '%s.%s.%s\n' "$header" "$claims" "$signature"
