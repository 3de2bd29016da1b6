#!/usr/bin/env bash
# Entry of the Bitrise step (step.yml). Bitrise passes each input as an
# environment variable of the same name. No `set -x`: the key is in the environment.
set -euo pipefail

step_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A directory of this build's own: mktemp makes it 0700 under an unguessable
# name, so no program or file another local user planted (a shared self-hosted
# agent) is ever run or read. It holds the venv, if one is needed, and with
# mint_on_demand the key file and the launcher later steps use.
work=$(mktemp -d "${TMPDIR:-/tmp}/xctoken-step.XXXXXXXXXX")
keep_work=no
cleanup() { [ "$keep_work" = yes ] || rm -rf "$work"; }
trap cleanup EXIT

# Bitrise's stacks ship a python3; if it already has cryptography and PyJWT, the
# step runs its own code (this checkout's xctoken/) with it. Otherwise it installs
# only those, hash-pinned and as wheels (no build step, so nothing unpinned is
# fetched), into the build's private venv. -I: the build's PYTHON* variables,
# user site-packages and the working directory are never imported from.
python=python3
if ! python3 -I -c 'import cryptography, jwt' >/dev/null 2>&1; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/python" -I -m pip install -q --disable-pip-version-check --no-input \
        --require-hashes --only-binary :all: --no-deps -r "$step_dir/requirements/core.txt"
    python="$work/venv/bin/python"
fi

status=0
"$python" -I "$step_dir/bitrise/step.py" "$work" || status=$?
# Later steps use the work directory when the step configured them (see step.py).
if [ "$status" -eq 0 ] && [ -d "$work/private_keys" ]; then
    keep_work=yes
fi
exit "$status"
