#!/usr/bin/env bash
# The demo: the FastAPI backend on 127.0.0.1:$API_PORT and a static server for
# the repository on 127.0.0.1:$WEB_PORT (the page at /web/ imports /dist/).
# Ctrl-C stops both. `make demo` builds dist/ first.
set -euo pipefail
cd "$(dirname "$0")/.."

API_PORT=${API_PORT:-8000}
WEB_PORT=${WEB_PORT:-5173}
API="http://127.0.0.1:$API_PORT"
PAGE="http://127.0.0.1:$WEB_PORT/web/?api=$API"

[ -f dist/index.js ] || echo "demo: dist/index.js is missing; run 'make dist' (or 'make demo')" >&2

pids=()
stop() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

# The page may be opened as 127.0.0.1 or localhost: both are allowed origins.
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 tests/servers/fastapi_app.py --port "$API_PORT" \
  --allow-origin "http://127.0.0.1:$WEB_PORT,http://localhost:$WEB_PORT" >/dev/null &
pids+=($!)
node tests/servers/launch.js static . "$WEB_PORT" >/dev/null &
pids+=($!)

wait_for_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "demo: a server failed to start (port $1 in use?)" >&2; exit 1; }; done
    sleep 0.1
  done
  echo "demo: nothing listening on port $1 after 10 s" >&2
  exit 1
}
wait_for_port "$API_PORT"
wait_for_port "$WEB_PORT"

cat <<EOF

  authgate demo
  ─────────────
  Open:  $PAGE
  API:   $API   (user demo / demo; access tokens live 20 s)

  Ctrl-C stops both servers.

EOF
wait -n
