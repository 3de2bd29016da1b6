#!/usr/bin/env bash
# Entry of the Bitrise step (step.yml). Bitrise passes each input as an
# environment variable of the same name. No `set -x`: the key is in the environment.
set -euo pipefail

step_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# An xctoken already on PATH (a stack that has it, or a test) is used as is;
# otherwise the step installs itself into a private venv, dependencies hash-pinned.
if command -v xctoken >/dev/null 2>&1; then
    xctoken=xctoken
else
    venv="${TMPDIR:-/tmp}/xctoken-bitrise-step"
    if [ ! -x "$venv/bin/xctoken" ]; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check --require-hashes \
            -r "$step_dir/requirements/runtime.txt"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "$step_dir"
    fi
    xctoken="$venv/bin/xctoken"
fi

args=(generate --ci bitrise --export "${variable_name:-APP_STORE_CONNECT_TOKEN}")
[ -n "${key_id:-}" ] && args+=(--key-id "$key_id")
[ -n "${issuer_id:-}" ] && args+=(--issuer-id "$issuer_id")
[ -n "${key_type:-}" ] && args+=(--key-type "$key_type")
[ -n "${lifetime:-}" ] && args+=(--lifetime "$lifetime")
if [ -n "${private_key:-}" ]; then
    # By name, never by value: the key stays out of every command line.
    args+=(--key-env private_key)
elif [ -n "${private_key_path:-}" ]; then
    args+=(--key "$private_key_path")
fi
while IFS= read -r entry; do
    [ -n "$entry" ] && args+=(--scope "$entry")
done <<<"${scope:-}"

exec "$xctoken" "${args[@]}"
