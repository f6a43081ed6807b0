#!/usr/bin/env bash
# Set up everything (idempotent, scripts/setup.sh --test), then run every check:
#   deploy configs (docker-compose config, nginx -t, shellcheck, systemd-analyze verify) via pytest,
#   ruff, the Python test suite (pytest), the frontend build, unit tests (vitest) and
#   end-to-end tests (playwright-core + /usr/bin/chromium).
# Every step runs even when an earlier one failed; the exit status is non-zero if any failed.
#
#   bash scripts/test.sh                 everything
#   bash scripts/test.sh -k health       extra arguments go to the main pytest run
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
export VENV="${VENV:-$ROOT/.venv}"

START=$SECONDS
results=()
failed=0

# step NAME TIMEOUT_S CMD...: run one step with a time limit and record how it went.
step() {
    local name="$1" limit="$2" rc=0 t0=$SECONDS
    shift 2
    printf '\n==> %s\n' "$name"
    if declare -F "$1" >/dev/null; then # a shell function: `timeout` needs a program to run
        timeout -k 30 "$limit" bash -c '"$@"' _ "$@" || rc=$?
    else
        timeout -k 30 "$limit" "$@" || rc=$?
    fi
    local took=$((SECONDS - t0))
    if [ "$rc" = 0 ]; then
        results+=("PASS  $name (${took}s)")
    else
        [ "$rc" = 124 ] && echo "$name: timed out after ${limit}s"
        results+=("FAIL  $name (exit $rc, ${took}s)")
        failed=1
    fi
    return 0
}

# pytest exits 5 when it collected no test: that is a failure here, never a silent pass.
# `python -m pytest` puts the repository root on sys.path, so tests can import `tests.*`.
# shellcheck disable=SC2317  # invoked indirectly, through step()
run_pytest() {
    local rc=0
    "$VENV/bin/python" -m pytest "$@" || rc=$?
    if [ "$rc" = 5 ]; then
        echo "pytest collected no tests: counted as a failure"
    fi
    return "$rc"
}
export -f run_pytest

has_npm_script() {
    node -e 'process.exit(require("./frontend/package.json").scripts?.[process.argv[1]] ? 0 : 1)' "$1"
}

step "setup (scripts/setup.sh --test)" 3600 bash scripts/setup.sh --test --no-frontend-build
if [ "${results[0]:0:4}" != PASS ]; then
    echo "setup failed; nothing else can run"
    exit 1
fi

export REQUIRE_DEPLOY_TOOLS=1 # tests/deploy fail instead of skipping when a tool is missing
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" # for the frontend e2e tests

step "deploy configs: compose config, nginx -t, shellcheck, systemd-analyze" 600 \
    run_pytest -q tests/deploy
step "ruff check" 300 "$VENV/bin/ruff" check .
step "pytest" 4200 run_pytest -q tests --ignore=tests/deploy "$@"

if [ -f frontend/package.json ]; then
    step "frontend build (npm run build)" 900 npm --prefix frontend run build
    build_ok=0
    [ "${results[-1]:0:4}" = PASS ] && build_ok=1
    if has_npm_script test; then
        step "frontend unit tests (npm test: vitest)" 900 npm --prefix frontend test
    else
        results+=("FAIL  frontend unit tests: no \"test\" script in frontend/package.json")
        failed=1
    fi
    if ! has_npm_script test:e2e; then
        results+=("FAIL  frontend e2e: no \"test:e2e\" script in frontend/package.json")
        failed=1
    elif [ "$build_ok" = 1 ]; then
        # Reuse the build above and the weights that setup converted; the venv's python runs the backend.
        step "frontend e2e (npm run test:e2e: playwright-core + chromium)" 1800 \
            env PYTHON="$VENV/bin/python" E2E_SKIP_BUILD=1 E2E_MODELS_DIR="$ROOT/backend/weights" \
            npm --prefix frontend run test:e2e
    else
        results+=("FAIL  frontend e2e: not run, the build failed")
        failed=1
    fi
fi

printf '\n==> summary (%ss)\n' "$((SECONDS - START))"
printf '  %s\n' "${results[@]}"
exit "$failed"
