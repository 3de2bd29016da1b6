# shellcheck shell=bash
# Sourced by the other scripts: make (once) and activate the project's .venv, the test venv.
# Only python3 (3.10+) is needed; dependencies come from requirements/dev.txt (pinned).
# (The demo has its own, smaller venv: see demo.sh.)
source "$(dirname "${BASH_SOURCE[0]}")/venv_lib.sh"
VENV="$ROOT/.venv"

# requirements/dev.txt is resolved on Python 3.11 (CI's), and some of its pins need 3.11 or
# newer: Python 3.10 gets the same tools from its own lock, dev-py310.txt (compile.sh makes both).
XCTOKEN_DEV_LOCK="$ROOT/requirements/dev.txt"
if [ "$(xctoken_python3_version 2>/dev/null)" = 3.10 ]; then
    XCTOKEN_DEV_LOCK="$ROOT/requirements/dev-py310.txt"
fi

_xctoken_install_dev() {
    "$1" -m pip install --quiet --disable-pip-version-check -r "$XCTOKEN_DEV_LOCK" >&2 &&
        "$1" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT" >&2
}

# Reinstall only when the pins or the package metadata changed.
make_venv "$VENV" _xctoken_install_dev \
    "$(cat "$XCTOKEN_DEV_LOCK" "$ROOT/pyproject.toml" | xctoken_digest)" || return 1
export PATH="$VENV/bin:$PATH"
