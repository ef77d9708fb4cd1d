#!/usr/bin/env bash
# The demo: the FastAPI backend on 127.0.0.1:$API_PORT (the live gate),
# two Flask backends for the incidents (the start-up race, the refresh storm and the
# two tabs on $FLASK_PORT; a CORS policy without Authorization on $FLASK_CORS_PORT),
# an OpenID provider on $IDP_PORT with the API that takes its tokens on $RS_PORT
# (tests/servers/oidc/), and a static server for the repository on
# 127.0.0.1:$WEB_PORT (the page at /web/ imports /dist/). Ctrl-C stops them all.
# `make demo` builds dist/ and installs the provider first.
set -euo pipefail
cd "$(dirname "$0")/.."

API_PORT=${API_PORT:-8000}
FLASK_PORT=${FLASK_PORT:-8001}
FLASK_CORS_PORT=${FLASK_CORS_PORT:-8002}
IDP_PORT=${IDP_PORT:-8003}
RS_PORT=${RS_PORT:-8004}
WEB_PORT=${WEB_PORT:-5173}
API="http://127.0.0.1:$API_PORT"
FLASK="http://127.0.0.1:$FLASK_PORT"
FLASK_CORS="http://127.0.0.1:$FLASK_CORS_PORT"
IDP="http://127.0.0.1:$IDP_PORT"
RS="http://127.0.0.1:$RS_PORT"
PAGE="http://127.0.0.1:$WEB_PORT/web/?api=$API&flask=$FLASK&flaskCors=$FLASK_CORS&idp=$IDP&rs=$RS"

[ -f dist/index.js ] || echo "demo: dist/index.js is missing; run 'make dist' (or 'make demo')" >&2
[ -d tests/servers/oidc/node_modules ] || { echo "demo: the OpenID provider is not installed; run 'make setup' (or 'make demo')" >&2; exit 1; }

pids=()
stop() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM

# The page may be opened as 127.0.0.1 or localhost: both are allowed origins.
ORIGINS="http://127.0.0.1:$WEB_PORT,http://localhost:$WEB_PORT"
export PYTHONDONTWRITEBYTECODE=1
/usr/bin/python3 tests/servers/fastapi_app.py --port "$API_PORT" --allow-origin "$ORIGINS" --access-ttl 20 >/dev/null &
pids+=($!)
/usr/bin/python3 tests/servers/flask_app.py --port "$FLASK_PORT" --allow-origin "$ORIGINS" --cors-variant good >/dev/null &
pids+=($!)
/usr/bin/python3 tests/servers/flask_app.py --port "$FLASK_CORS_PORT" --allow-origin "$ORIGINS" \
  --cors-variant no-auth-header >/dev/null &
pids+=($!)
node tests/servers/launch.js static . "$WEB_PORT" >/dev/null &
pids+=($!)
# The page is the provider's redirect URI and post-logout redirect URI, under both names.
node --no-warnings tests/servers/oidc/provider.js --port "$IDP_PORT" --access-ttl 20 \
  --redirect-uri "http://127.0.0.1:$WEB_PORT/web/,http://localhost:$WEB_PORT/web/" >/dev/null 2>&1 &
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
for port in "$API_PORT" "$FLASK_PORT" "$FLASK_CORS_PORT" "$WEB_PORT" "$IDP_PORT"; do wait_for_port "$port"; done
# The API reads the provider's discovery document at start-up, so it comes second.
node --no-warnings tests/servers/oidc/resource.js --port "$RS_PORT" --issuer "$IDP" --allow-origin "$ORIGINS" >/dev/null &
pids+=($!)
wait_for_port "$RS_PORT"

cat <<EOF

  authgate demo
  ─────────────
  Open:  $PAGE
  API:   $API   FastAPI (user demo / demo; access tokens live 20 s)
         $FLASK   Flask, CORS allows Authorization (start-up race, refresh storm, two tabs)
         $FLASK_CORS   Flask, CORS forgets Authorization (CORS mistaken for auth)
  OpenID $IDP   provider (any username / password; access tokens live 20 s)
         $RS   the API that takes its tokens

  Ctrl-C stops every server.

EOF
wait -n
