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
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    # setsid below gives the frontend its own process group: stop npm and vite together.
    if [ -n "$frontend_pid" ]; then
        kill -- "-$frontend_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# HOST and PORT as the backend reads them: the environment, else .env, else the defaults. The
# preview proxies /api to that port (vite.config.ts reads API_PROXY_TARGET), on loopback when the
# backend listens on every interface.
read -r address proxy_target < <("$PY" -c '
from backend.settings import Settings
s = Settings()
local = "127.0.0.1" if s.host in ("", "0.0.0.0") else "[::1]" if s.host == "::" else s.host
local = f"[{local}]" if ":" in local and not local.startswith("[") else local
print(f"{s.host}:{s.port}", f"http://{local}:{s.port}")')
export API_PROXY_TARGET="${API_PROXY_TARGET:-$proxy_target}"

if [ "${RUN_FRONTEND:-1}" != 0 ] && [ -f frontend/dist/index.html ]; then
    preview_log="${TMPDIR:-/tmp}/inpaint-frontend-preview.log"
    echo "==> frontend: http://localhost:3332 (vite preview, /api -> $API_PROXY_TARGET; log in $preview_log)"
    setsid npm --prefix frontend run preview >"$preview_log" 2>&1 &
    frontend_pid=$!
fi

echo "==> backend: http://$address (docs at /docs, health at /api/health); Ctrl-C stops"
# In the background with the signals passed on, so `kill <this script>` stops the backend too
# (and the EXIT trap stops the frontend); the backend then finishes its graceful shutdown.
"$PY" backend/api_server.py &
backend_pid=$!
trap 'kill -TERM "$backend_pid" 2>/dev/null || true' TERM INT HUP
status=0
wait "$backend_pid" || status=$?
if kill -0 "$backend_pid" 2>/dev/null; then # a signal interrupted `wait`: wait for the shutdown itself
    status=0
    wait "$backend_pid" || status=$?
fi
exit "$status"
