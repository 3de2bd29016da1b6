# shellcheck shell=bash
# Sourced by the other scripts: make (once) and activate the project's .venv, the test venv.
# Only python3 (3.10+) is needed; dependencies come from requirements/dev.txt (pinned).
# (The demo has its own, smaller venv: see demo.sh.)
source "$(dirname "${BASH_SOURCE[0]}")/venv_lib.sh"
VENV="$ROOT/.venv"

_xctoken_install_dev() {
    "$1" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements/dev.txt" >&2 &&
        "$1" -m pip install --quiet --disable-pip-version-check --no-deps -e "$ROOT" >&2
}

# Reinstall only when the pins or the package metadata changed.
make_venv "$VENV" _xctoken_install_dev \
    "$(cat "$ROOT/requirements/dev.txt" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)" || return 1
export PATH="$VENV/bin:$PATH"
