# shellcheck shell=bash
# Sourced by venv.sh (the test venv) and demo.sh (the demo's venv): defines ROOT and
# make_venv. Only python3 (3.10 or newer) is needed. Everything returns, never exits:
# venv.sh may be sourced into an interactive shell. Portable to macOS's /bin/bash (3.2) and
# BSD userland: no arrays, no GNU-only options.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The version of python3 ("3.11"), or a one-line message and status 1 if it is missing or too old.
xctoken_python3_version() {
    local version
    if ! version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
        echo "xctoken: needs python3 (3.10 or newer) on PATH; none runs here" >&2
        return 1
    fi
    if [ "${version%%.*}" -lt 3 ] || { [ "${version%%.*}" -eq 3 ] && [ "${version#*.}" -lt 10 ]; }; then
        echo "xctoken: needs Python 3.10 or newer; python3 here is $version" >&2
        return 1
    fi
    echo "$version"
}

# The first 16 hex digits of the SHA-256 of standard input, the same on every system:
# sha256sum (GNU coreutils), else shasum (macOS, the BSDs), else python3.
xctoken_digest() {
    local sum
    if command -v sha256sum >/dev/null 2>&1; then
        sum=$(sha256sum) || return 1
    elif command -v shasum >/dev/null 2>&1; then
        sum=$(shasum -a 256) || return 1
    else
        sum=$(python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())') || return 1
    fi
    echo "${sum:0:16}"
}

# make_venv DIR INSTALL WANT: make DIR a venv of this python3 in which the shell
# function INSTALL (called as INSTALL PYTHON) has completed for WANT (a digest of what
# it installs). The stamp DIR/.xctoken-installed holds WANT and is written only after
# INSTALL succeeded; it is removed before INSTALL runs, so an interrupted install
# leaves no stamp. A venv that has no stamp, whose python does not run or has no pip,
# or that another Python version made, is half-made: it is made anew. A venv with a
# stamp for another WANT (the pins changed) gets INSTALL run again in place.
make_venv() {
    local venv=$1 install=$2 want=$3 version have
    local stamp="$venv/.xctoken-installed"
    version=$(xctoken_python3_version) || return 1
    have=$("$venv/bin/python" -I -c 'import sys, pip; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || have=
    if [ "$have" = "$version" ] && [ -f "$stamp" ]; then
        [ "$(cat "$stamp")" = "$want" ] && return 0
    else
        [ -e "$venv" ] && echo "xctoken: ${venv#"$ROOT/"} is half-made or from another Python: making it anew" >&2
        rm -rf "$venv"
        if ! python3 -m venv "$venv"; then
            echo "xctoken: python3 -m venv failed (on Debian or Ubuntu: apt-get install python3-venv)" >&2
            return 1
        fi
    fi
    rm -f "$stamp"
    if ! "$install" "$venv/bin/python"; then
        echo "xctoken: installing into ${venv#"$ROOT/"} failed; the next run tries again" >&2
        return 1
    fi
    echo "$want" > "$stamp"
}
