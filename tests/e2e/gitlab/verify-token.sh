#!/usr/bin/env bash
# Verify $ASC_TOKEN (from the dotenv report) with openssl and jq only: an
# implementation independent of xctoken and of Python. The signature is raw R||S
# (JWS ES256); openssl wants DER, built here with `openssl asn1parse -genconf`.
# Prints nothing secret: only facts and the final marker.
set -euo pipefail
: "${ASC_TOKEN:?ASC_TOKEN did not arrive from the dotenv report}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

b64url_decode() {
    local s
    s=$(printf %s "$1" | tr '_-' '/+')
    case $(( ${#s} % 4 )) in 2) s="$s==" ;; 3) s="$s=" ;; esac
    printf %s "$s" | base64 -d
}

IFS=. read -r header payload signature <<<"$ASC_TOKEN"
test -n "$signature"
b64url_decode "$header" >"$work/header.json"
b64url_decode "$payload" >"$work/claims.json"
jq -e --arg kid "$ASC_KEY_ID" '.alg == "ES256" and .typ == "JWT" and .kid == $kid' "$work/header.json" >/dev/null
now=$(date +%s)
jq -e --arg iss "$ASC_ISSUER_ID" --argjson now "$now" \
    '.iss == $iss and .aud == "appstoreconnect-v1" and .exp > $now and .iat <= $now + 60
     and .exp - .iat == 600' "$work/claims.json" >/dev/null

b64url_decode "$signature" >"$work/sig.raw"
test "$(wc -c <"$work/sig.raw")" -eq 64
hex=$(od -An -v -tx1 "$work/sig.raw" | tr -d ' \n')
printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "${hex:0:64}" "${hex:64:64}" >"$work/sig.cnf"
openssl asn1parse -genconf "$work/sig.cnf" -out "$work/sig.der" -noout
printf %s "$ASC_PUBLIC_KEY_B64" | base64 -d >"$work/public.pem"
printf %s "$header.$payload" >"$work/signed"
openssl dgst -sha256 -verify "$work/public.pem" -signature "$work/sig.der" "$work/signed"
# A flipped byte must fail, or the check above proves nothing.
printf %s "$header.${payload}x" >"$work/tampered"
if openssl dgst -sha256 -verify "$work/public.pem" -signature "$work/sig.der" "$work/tampered" >/dev/null 2>&1; then
    echo "tampered input verified: the check is broken" >&2
    exit 1
fi
echo "XCTOKEN-E2E verified by openssl: kid $(jq -r .kid "$work/header.json"), expires $(jq -r .exp "$work/claims.json")"
