#!/usr/bin/env bash
# Make a throwaway P-256 key (not an Apple key: nothing here reaches Apple), mask it,
# and hand the base64 .p8 to the action the way a secret would be. Works on the Linux,
# macOS (LibreSSL) and Windows (Git Bash) runners.
set -euo pipefail
dir="$RUNNER_TEMP/xctoken-selftest"
mkdir -p "$dir"
umask 077
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/sec1.pem"
openssl pkcs8 -topk8 -nocrypt -in "$dir/sec1.pem" -out "$dir/AuthKey.p8"
openssl pkey -in "$dir/AuthKey.p8" -pubout -out "$dir/public.pem"
b64=$(base64 < "$dir/AuthKey.p8" | tr -d '\r\n')
# A step output is not a secret: mask it before it is written anywhere.
echo "::add-mask::$b64"
rm -f "$dir/sec1.pem" "$dir/AuthKey.p8"
{
    echo "key-id=SELFTEST01"
    echo "private-key=$b64"
    echo "public-key-path=$dir/public.pem"
} >> "$GITHUB_OUTPUT"
echo "made a throwaway key; its public half is $dir/public.pem"
