#!/usr/bin/env bash
# xctoken/mint_token: mint a token and hand it to the later steps of this job.
#
# xctoken reads the key from the job's environment (ASC_* project or context variables) and
# appends `export NAME='<token>'` to $BASH_ENV itself, which bash sources at the start of every
# later step. The token never passes through this script: it is in no variable here, in no
# argv, and in no output. The orb's parameters arrive as ORB_VAL_* variables, so their values
# are data, never shell code. No `set -x`.
set -euo pipefail

if ! command -v xctoken >/dev/null 2>&1; then
    echo "xctoken/mint_token: xctoken is not on PATH; use the orb's executor (xctoken/default)," \
        "or install xctoken in an earlier step (docs/ci-guide.md, CircleCI)" >&2
    exit 127
fi

args=(generate --ci=circleci --export="$ORB_VAL_VARIABLE_NAME")
if [ -n "${ORB_VAL_SERVICE:-}" ]; then
    args+=(--service="$ORB_VAL_SERVICE")
fi
if [ -n "${ORB_VAL_LIFETIME:-}" ]; then
    args+=(--lifetime="$ORB_VAL_LIFETIME")
fi
# One request per line; blank lines are skipped.
while IFS= read -r request; do
    case $request in
        *[![:space:]]*) args+=(--scope="$request") ;;
    esac
done < <(printf '%s\n' "${ORB_VAL_SCOPE:-}")

xctoken "${args[@]}"
