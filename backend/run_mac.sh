#!/usr/bin/env bash
# One click on a Mac (Apple silicon, macOS 12.3+): venv + dependencies + bundled model,
# then the backend on http://0.0.0.0:8000 using the GPU through MPS.
#   cd backend && chmod +x run_mac.sh && ./run_mac.sh
# Environment: PYTHON (interpreter, 3.10+), VENV (default backend/venv), DEVICE (default
# mps), and any backend setting from ../.env.example (PORT, TILE, DEFAULT_MODEL, ...).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

if [ "$(uname -s)" != Darwin ]; then
    warn "this is not macOS: no MPS here, the backend will use CUDA or the CPU"
fi

# A Python >= 3.10 (macOS's own python3 may be 3.9: install one with Homebrew or python.org).
pick_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3.10 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

VENV="${VENV:-venv}"
if [ -x "$VENV/bin/python" ] &&
    ! "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    # e.g. a venv made earlier with macOS's own python3 (3.9) by the manual steps
    echo "ERROR: $VENV has Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'); 3.10+ is needed." >&2
    echo "       Remove it (rm -rf $VENV) and run this again; it then picks a newer Python." >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    base_python="$(pick_python)" || {
        echo "ERROR: Python 3.10 or newer is needed (brew install python@3.12)" >&2
        exit 1
    }
    log "creating $VENV with $base_python"
    "$base_python" -m venv "$VENV"
fi
PY="$(cd "$VENV" && pwd)/bin/python"

# What the backend will use, environment and ../.env or .env together (backend/settings.py).
setting() { (cd .. && "$PY" -c "from backend.settings import Settings; print(getattr(Settings(), '$1'))"); }
configured() { (cd .. && "$PY" -c "import sys; from backend.settings import Settings; sys.exit('$1' not in Settings().model_fields_set)"); }

# Install only when requirements.txt changed since the last successful install.
stamp="$VENV/.requirements-stamp"
want="$(cksum <requirements.txt)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing dependencies (PyTorch with MPS support comes from PyPI on macOS)"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -r requirements.txt
    echo "$want" >"$stamp"
fi

# The default model is bundled (offline); this converts it once and caches it in weights/.
"$PY" download_models.py --quiet

if ! configured device; then # DEVICE from the environment or a .env file wins
    if "$PY" -c 'import sys, torch; sys.exit(0 if torch.backends.mps.is_available() else 1)' 2>/dev/null; then
        export DEVICE=mps
    else
        warn "MPS is not available (needs Apple silicon or a supported GPU, macOS 12.3+): DEVICE=auto"
        export DEVICE=auto
    fi
fi
# Operators that MPS lacks run on the CPU instead of failing.
export PYTORCH_ENABLE_MPS_FALLBACK="${PYTORCH_ENABLE_MPS_FALLBACK:-1}"

port="$(setting port)"
log "backend on http://$(setting host):$port (DEVICE=$(setting device)); API docs at http://localhost:$port/docs"
exec "$PY" api_server.py
