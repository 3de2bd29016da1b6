#!/usr/bin/env bash
# verify-token.sh NAME LIFETIME_SECONDS [SCOPE_JSON]
# Verify the token in variable NAME (from a dotenv report) with openssl and jq only:
# independent of xctoken and of Python. Every GitLab pipeline under tests/e2e runs it in
# its verify job (tests/ci/gitlab_local.py copies it in). The signature is raw R||S
# (JWS ES256); openssl wants DER, built with `openssl asn1parse -genconf`. SCOPE_JSON is
# the expected `scope` claim (a JSON array); without it the token must have none.
# Prints nothing secret: only facts and the final marker.
set -euo pipefail
name=${1:?usage: verify-token.sh NAME LIFETIME_SECONDS [SCOPE_JSON]}
lifetime=${2:?usage: verify-token.sh NAME LIFETIME_SECONDS [SCOPE_JSON]}
scope=${3:-null}
token=${!name:-}
test -n "$token" || { echo "$name did not arrive from the dotenv report" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

b64url_decode() {
    local s
    s=$(printf %s "$1" | tr '_-' '/+')
    case $(( ${#s} % 4 )) in 2) s="$s==" ;; 3) s="$s=" ;; esac
    printf %s "$s" | base64 -d
}

IFS=. read -r header payload signature <<<"$token"
test -n "$signature"
b64url_decode "$header" >"$work/header.json"
b64url_decode "$payload" >"$work/claims.json"
jq -e --arg kid "$ASC_KEY_ID" '.alg == "ES256" and .typ == "JWT" and .kid == $kid' "$work/header.json" >/dev/null
now=$(date +%s)
jq -e --arg iss "$ASC_ISSUER_ID" --argjson now "$now" --argjson lifetime "$lifetime" --argjson scope "$scope" \
    '.iss == $iss and .aud == "appstoreconnect-v1" and .exp > $now and .iat <= $now + 60
     and .exp - .iat == $lifetime and .scope == $scope' "$work/claims.json" >/dev/null

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
echo "XCTOKEN-E2E $name verified by openssl: kid $(jq -r .kid "$work/header.json"), lifetime $lifetime s, scope $(jq -c .scope "$work/claims.json")"
