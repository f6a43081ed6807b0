#!/bin/sh
# Runs from the nginx image's /docker-entrypoint.d/ at every container start: writes
# config.json beside index.html from the environment, so one image deploys anywhere.
#   VITE_API_URL       backend base URL as the browser sees it; empty = same origin (/api via this nginx)
#   VITE_UPSCALE_MODE  server | browser | auto; empty = the build's default
set -eu

html=/usr/share/nginx/html

json_string() { # JSON-quote $1 (backslashes, quotes; control characters are dropped)
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

{
    printf '{"VITE_API_URL": %s' "$(json_string "${VITE_API_URL:-}")"
    if [ -n "${VITE_UPSCALE_MODE:-}" ]; then
        printf ', "VITE_UPSCALE_MODE": %s' "$(json_string "$VITE_UPSCALE_MODE")"
    fi
    printf '}\n'
} >"$html/config.json.tmp"
mv "$html/config.json.tmp" "$html/config.json"
printf '%s: wrote %s/config.json: %s\n' "$0" "$html" "$(cat "$html/config.json")"
