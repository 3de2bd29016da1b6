#!/usr/bin/env bash
# Regenerate the pinned lock files from the .in lists (run from anywhere).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
compile=(pip-compile --quiet --no-emit-index-url --no-emit-find-links --strip-extras)
# Unused dependencies of actions-toolkit (see runtime.in); "unsafe" keeps them out of the lock.
unused=(pygithub pynacl requests urllib3 certifi idna charset-normalizer)
"${compile[@]}" --generate-hashes "${unused[@]/#/--unsafe-package=}" --output-file runtime.txt runtime.in
"${compile[@]}" --output-file dev.txt dev.in
