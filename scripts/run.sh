#!/usr/bin/env bash
# Set up everything (idempotent, see scripts/setup.sh) and start the service:
#   backend  http://0.0.0.0:8000   (API docs at /docs), bundled RealESRGAN_x4plus by default
#   frontend http://localhost:3332 (`vite preview` of the built app), when frontend/ exists
#
# Environment: any backend setting (HOST, PORT, DEVICE, TILE, DEFAULT_MODEL, ... see .env.example),
#   RUN_FRONTEND=0 to start the backend only; the variables scripts/setup.sh reads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
PY="${VENV:-$ROOT/.venv}/bin/python"

[ -f backend/api_server.py ] || {
    echo "ERROR: backend/api_server.py is missing" >&2
    exit 1
}

frontend_pid=""
cleanup() {
    if [ -n "$frontend_pid" ]; then
        kill "$frontend_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

if [ "${RUN_FRONTEND:-1}" != 0 ] && [ -f frontend/dist/index.html ]; then
    preview_log="${TMPDIR:-/tmp}/inpaint-frontend-preview.log"
    echo "==> frontend: http://localhost:3332 (vite preview; log in $preview_log)"
    # setsid: its own process group, so that cleanup stops npm and vite together.
    setsid npm --prefix frontend run preview >"$preview_log" 2>&1 &
    frontend_pid=$!
    cleanup() { kill -- "-$frontend_pid" 2>/dev/null || true; }
fi

echo "==> backend: http://${HOST:-0.0.0.0}:${PORT:-8000} (docs at /docs, health at /api/health); Ctrl-C stops"
"$PY" backend/api_server.py
