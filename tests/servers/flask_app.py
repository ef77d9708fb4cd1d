"""Flask backend (behind nginx in the start-up tests), with flask-cors in one of two shapes:

  --cors-variant good            the origin, credentials and the Authorization header are allowed
  --cors-variant no-auth-header  the origin is allowed but Authorization is not, so the browser's
                                 preflight for any bearer call fails

    /usr/bin/python3 tests/servers/flask_app.py --port 5000 \
        --allow-origin http://127.0.0.1:5173 --cors-variant good

User demo/demo. Login answers {access_token, refresh_token} without expires_in:
clients must read the expiry from the JWT's `exp`. Refresh: POST {"refresh": "..."},
each refresh token works once. Protected routes answer 401 without a valid bearer.
"""
from functools import wraps

from flask import Flask, g, jsonify, request
from flask_cors import CORS
from werkzeug.serving import make_server

from common import DEMO_USER, Counters, TokenIssuer, announce_ready, counting_wsgi, parse_args

LOGIN_PATH = "/api/auth/login"
REFRESH_PATH = "/api/auth/refresh"
CORS_ALLOWED_HEADERS = {
    "good": ["Authorization", "Content-Type"],
    "no-auth-header": ["Content-Type"],
}


def create_app(allow_origins, access_ttl, cors_variant):
    app = Flask(__name__)
    tokens = TokenIssuer(access_ttl)
    counters = Counters(LOGIN_PATH, REFRESH_PATH)

    def require_bearer(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            g.user = tokens.verify_access(token) if scheme == "Bearer" else None
            if not g.user:
                return jsonify(msg="Missing or invalid bearer token"), 401, {"WWW-Authenticate": "Bearer"}
            return view(*args, **kwargs)
        return guarded

    def body():
        return request.get_json(silent=True) or {}

    @app.post(LOGIN_PATH)
    def login():
        if {k: body().get(k) for k in DEMO_USER} != DEMO_USER:
            return jsonify(msg="Bad username or password"), 401
        access, refresh = tokens.issue(DEMO_USER["username"])
        return jsonify(access_token=access, refresh_token=refresh)

    @app.post(REFRESH_PATH)
    def refresh():
        pair = tokens.rotate(body().get("refresh"))
        if not pair:
            return jsonify(msg="Refresh token invalid, used or revoked"), 401
        return jsonify(access_token=pair[0], refresh_token=pair[1])

    @app.get("/api/dashboard/stats")
    @require_bearer
    def stats():
        return jsonify(user=g.user, documents=12, active_sessions=3)

    @app.get("/api/dashboard/items")
    @require_bearer
    def items():
        return jsonify(user=g.user, items=[{"id": 1, "name": "Invoice 42"}, {"id": 2, "name": "Contract 7"}])

    @app.get("/api/health")
    def health():
        return jsonify(status="ok")

    @app.get("/__counters")
    def get_counters():
        return jsonify(counters.snapshot())

    @app.post("/__reset")
    def reset():
        counters.reset()
        return jsonify(ok=True)

    @app.post("/__revoke")
    def revoke():
        tokens.revoke_all()
        return jsonify(ok=True)

    @app.post("/__control")
    def control():
        tokens.access_ttl = int(body()["access_ttl"])
        return jsonify(access_ttl=tokens.access_ttl)

    # An explicit allow_headers list is what makes the bad variant bad:
    # flask-cors' default ('*') would echo any requested header.
    CORS(app, origins=allow_origins, supports_credentials=True,
         allow_headers=CORS_ALLOWED_HEADERS[cors_variant])
    app.wsgi_app = counting_wsgi(app.wsgi_app, counters)
    return app


def main():
    args = parse_args(__doc__.splitlines()[0], lambda p: p.add_argument(
        "--cors-variant", choices=sorted(CORS_ALLOWED_HEADERS), default="good"))
    app = create_app(args.allow_origin, args.access_ttl, args.cors_variant)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    announce_ready(server.server_port)
    server.serve_forever()


if __name__ == "__main__":
    main()
