"""Pieces shared by the test backends: command line, READY line, request
counters, and the JWT issuer used by the FastAPI and Flask apps.

Every backend exposes the same unauthenticated test hooks under /__ (counters,
reset, revoke, control) so a test can assert on what the server actually saw,
not only on what the page shows.
"""
import argparse
import os
import secrets
import signal
import threading
import time

import jwt

DEMO_USER = {"username": "demo", "password": "demo"}
AUTH_HEADER_HISTORY = 50


def parse_args(description, extra=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1; 0 picks a free one (printed on the READY line)")
    parser.add_argument("--allow-origin", action="append", default=[],
                        help="page origin allowed by CORS; repeat it or comma-separate")
    parser.add_argument("--access-ttl", type=int, default=20,
                        help="access-token lifetime in seconds (POST /__control changes it later)")
    if extra:
        extra(parser)
    args = parser.parse_args()
    args.allow_origin = [o.strip() for v in args.allow_origin for o in v.split(",") if o.strip()]
    return args


def announce_ready(port):
    """Print the line launchers wait for, then tie our lifetime to the parent's:
    a test run that is killed must not leave servers holding ports."""
    print(f"READY {port}", flush=True)
    parent = os.getppid()

    def exit_when_orphaned():
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # the server's own clean shutdown
        time.sleep(5)
        os._exit(1)

    threading.Thread(target=exit_when_orphaned, daemon=True).start()


def is_hook(path):
    return path.startswith("/__")


class Counters:
    """What the server saw, excluding the /__ hooks. Preflights are counted on
    their own: a browser that only sent a preflight never sent the call."""

    def __init__(self, login_path, refresh_path):
        self.login_path = login_path
        self.refresh_path = refresh_path
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = self.preflights = 0
            self.status_401 = self.status_403 = 0
            self.logins = self.refreshes = 0
            self.auth_headers = []
            self.by_path = {}

    def record(self, method, path, status, authorization, preflight):
        with self.lock:
            entry = self.by_path.setdefault(
                path, {"requests": 0, "preflights": 0, "bearer": 0, "statuses": {}})
            if preflight:
                self.preflights += 1
                entry["preflights"] += 1
                return
            self.requests += 1
            entry["requests"] += 1
            entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1
            if authorization and authorization.startswith("Bearer "):
                entry["bearer"] += 1
            self.status_401 += status == 401
            self.status_403 += status == 403
            self.logins += path == self.login_path
            self.refreshes += path == self.refresh_path
            self.auth_headers = (self.auth_headers + [authorization])[-AUTH_HEADER_HISTORY:]

    def snapshot(self):
        with self.lock:
            return {
                "requests": self.requests, "preflights": self.preflights,
                "status_401": self.status_401, "status_403": self.status_403,
                "logins": self.logins, "refreshes": self.refreshes,
                "auth_headers": list(self.auth_headers),
                "by_path": {p: {**e, "statuses": dict(e["statuses"])} for p, e in self.by_path.items()},
            }


def is_preflight(method, access_control_request_method):
    return method == "OPTIONS" and bool(access_control_request_method)


def counting_wsgi(app, counters):
    """WSGI wrapper that records every request (preflights included) with the
    status the app answered, before the body is sent."""

    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if is_hook(path):
            return app(environ, start_response)
        method = environ["REQUEST_METHOD"]

        def recording_start_response(status, headers, exc_info=None):
            counters.record(method, path, int(status.split()[0]), environ.get("HTTP_AUTHORIZATION"),
                            is_preflight(method, environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")))
            return start_response(status, headers, exc_info)

        return app(environ, recording_start_response)

    return wrapped


class TokenIssuer:
    """HS256 access tokens with an `exp` claim (the client reads expiry from it)
    and opaque, rotating refresh tokens: each works once, then is gone."""

    def __init__(self, access_ttl):
        self.access_ttl = access_ttl
        self.secret = secrets.token_hex(32)  # per process: a restart invalidates every token
        self.lock = threading.Lock()
        self.refresh_owner = {}

    def issue(self, username):
        now = int(time.time())
        # jti keeps two tokens issued in the same second distinct.
        claims = {"sub": username, "iat": now, "exp": now + self.access_ttl,
                  "jti": secrets.token_hex(8), "type": "access"}
        refresh = secrets.token_urlsafe(32)
        with self.lock:
            self.refresh_owner[refresh] = username
        return jwt.encode(claims, self.secret, algorithm="HS256"), refresh

    def verify_access(self, token):
        """The username, or None for a malformed, forged or expired token."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.PyJWTError:
            return None
        return claims["sub"] if claims.get("type") == "access" else None

    def rotate(self, refresh):
        """A new (access, refresh) pair, or None when the token is unknown or already used."""
        with self.lock:
            username = self.refresh_owner.pop(refresh, None) if isinstance(refresh, str) else None
        return self.issue(username) if username else None

    def revoke_all(self):
        with self.lock:
            self.refresh_owner.clear()
