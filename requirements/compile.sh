#!/usr/bin/env bash
# Regenerate the pinned lock files from the .in lists (run from anywhere).
# dev.txt is resolved by the Python this runs on (CI's 3.11); dev-py310.txt, the same tools for
# Python 3.10 (some pins in dev.txt need 3.11), needs a python3.10 with pip-tools on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
compile=(pip-compile --quiet --no-emit-index-url --no-emit-find-links --strip-extras)
# Unused dependencies of actions-toolkit (see runtime.in); "unsafe" keeps them out of the lock.
unused=(pygithub pynacl requests urllib3 certifi idna charset-normalizer)
"${compile[@]}" --generate-hashes "${unused[@]/#/--unsafe-package=}" --output-file runtime.txt runtime.in
"${compile[@]}" --output-file dev.txt dev.in
if python3.10 -m piptools compile --version >/dev/null 2>&1; then
    python3.10 -m piptools compile "${compile[@]:1}" --output-file dev-py310.txt dev.in
else
    echo "compile.sh: no python3.10 with pip-tools here: dev-py310.txt left as it is" >&2
fi
