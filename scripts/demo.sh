#!/usr/bin/env bash
# Set up and run xctoken's main job on a throwaway demo key: see README.
# The demo gets its own small venv, .venv-demo: only the core's dependencies
# (requirements/core.txt: cryptography, cffi, pycparser, PyJWT), hash-pinned and as
# wheels, as the Bitrise step installs them. xctoken itself runs from this checkout's
# xctoken/ (a .pth file in the venv), so nothing is built and no build tool is fetched.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv_lib.sh"
VENV="$ROOT/.venv-demo"

install_demo() {
    "$1" -I -m pip install --quiet --disable-pip-version-check --no-input \
        --require-hashes --only-binary :all: --no-deps -r "$ROOT/requirements/core.txt" >&2 || return 1
    local site
    site=$("$1" -I -c 'import sysconfig; print(sysconfig.get_path("purelib"))') || return 1
    printf '%s\n' "$ROOT" > "$site/xctoken-checkout.pth"
    "$1" -I -c 'import cryptography, jwt, xctoken' || return 1
}

# Installed again when the pins, or where this checkout is, changed.
make_venv "$VENV" install_demo "$( (cat "$ROOT/requirements/core.txt"; echo "$ROOT") | xctoken_digest)"
# -I: no PYTHON* variables, user site-packages or current directory on the import path.
exec "$VENV/bin/python" -I "$ROOT/scripts/demo.py"
