#!/usr/bin/env bash
# Set up and run xctoken's main job on a throwaway demo key: see README.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec python "$ROOT/scripts/demo.py"
