#!/usr/bin/env bash
# Set up everything and run the whole test suite: unit, CLI, container, workflow.
#   bash scripts/test.sh            everything (provisions Docker, act, gitlab-ci-local)
#   bash scripts/test.sh --quick    no Docker: the container, act and GitLab tests are skipped
#                                   ("skipped by --quick"), even where a Docker engine runs
# Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
cd "$ROOT"
if [ "${1:-}" = "--quick" ]; then
    shift
    export XCTOKEN_SKIP_DOCKER=1   # tests/conftest.py: every docker/slow test is skipped
    unset XCTOKEN_REQUIRE_DOCKER
else
    unset XCTOKEN_SKIP_DOCKER
    bash .ci/provision.sh
    export XCTOKEN_REQUIRE_DOCKER=1   # a missing engine must fail the run, not skip it
fi
status=0
pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
