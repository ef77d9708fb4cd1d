"""FastAPI backend: routes guarded by HTTPBearer, so a call
without `Authorization` gets 403 {"detail":"Not authenticated"} (cookies are
ignored) and a bad or expired token gets 401. CORS for one page origin.

    /usr/bin/python3 tests/servers/fastapi_app.py --port 8000 \
        --allow-origin http://127.0.0.1:5173 [--access-ttl 20]

User demo/demo. Refresh: POST {"refresh": "..."}; each refresh token works once.
Also, for retries and timeouts: /api/v1/flaky answers 503 with Retry-After: 1
twice, then 200 (until /__reset); /api/v1/silent never answers. /__arrivals
counts requests as they arrive (the counters see a request when it is answered).
"""
import asyncio
import socket
from collections import Counter

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from common import DEMO_USER, Counters, TokenIssuer, announce_ready, is_hook, is_preflight, parse_args

LOGIN_PATH = "/api/v1/auth/login"
REFRESH_PATH = "/api/v1/auth/refresh"


class Credentials(BaseModel):
    username: str
    password: str


class RefreshBody(BaseModel):
    refresh: str


class Control(BaseModel):
    access_ttl: int


class CountingMiddleware:
    """Outermost ASGI middleware, so it also sees the preflights that
    CORSMiddleware answers (or refuses) without reaching the routes."""

    def __init__(self, app, counters, arrivals):
        self.app = app
        self.counters = counters
        self.arrivals = arrivals

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_hook(scope["path"]):
            return await self.app(scope, receive, send)
        if scope["method"] != "OPTIONS":
            self.arrivals[scope["path"]] += 1
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}

        async def recording_send(message):
            if message["type"] == "http.response.start":
                self.counters.record(scope["method"], scope["path"], message["status"],
                                     headers.get("authorization"),
                                     is_preflight(scope["method"], headers.get("access-control-request-method")))
            await send(message)

        await self.app(scope, receive, recording_send)


def create_app(allow_origins, access_ttl):
    app = FastAPI(title="authgate test backend (FastAPI)")
    tokens = TokenIssuer(access_ttl)
    counters = Counters(LOGIN_PATH, REFRESH_PATH)
    arrivals = Counter()
    flaky = {"answered": 0}
    bearer = HTTPBearer()  # missing header -> 403 "Not authenticated", the behaviour a raw fetch hits

    def current_user(creds: HTTPAuthorizationCredentials = Depends(bearer)):
        username = tokens.verify_access(creds.credentials)
        if not username:
            raise HTTPException(401, "Invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
        return username

    def token_response(pair):
        access, refresh = pair
        return {"access_token": access, "refresh_token": refresh,
                "token_type": "bearer", "expires_in": tokens.access_ttl}

    @app.post(LOGIN_PATH)
    def login(body: Credentials):
        if body.dict() != DEMO_USER:
            raise HTTPException(401, "Incorrect username or password")
        return token_response(tokens.issue(body.username))

    @app.post(REFRESH_PATH)
    def refresh(body: RefreshBody):
        pair = tokens.rotate(body.refresh)
        if not pair:
            raise HTTPException(401, "Refresh token invalid, used or revoked")
        return token_response(pair)

    @app.get("/api/v1/auth/me")
    def me(user: str = Depends(current_user)):
        return {"username": user}

    @app.post("/api/v1/sessions", status_code=201)
    def create_session(user: str = Depends(current_user)):
        return {"id": "s-1", "owner": user}

    @app.get("/api/v1/documents")
    def documents(user: str = Depends(current_user)):
        return {"owner": user, "documents": [{"id": 1, "title": "Quarterly report"},
                                              {"id": 2, "title": "Meeting notes"}]}

    @app.get("/api/v1/redirect")
    def redirect(to: str, user: str = Depends(current_user)):
        # A protected route that sends the client elsewhere: the bearer it needed must not follow.
        return RedirectResponse(to, status_code=302)

    @app.get("/api/v1/flaky")
    def flaky_route(user: str = Depends(current_user)):
        flaky["answered"] += 1
        if flaky["answered"] <= 2:
            raise HTTPException(503, "Busy, try again", headers={"Retry-After": "1"})
        return {"owner": user, "attempt": flaky["answered"]}

    @app.get("/api/v1/silent")
    async def silent(user: str = Depends(current_user)):
        await asyncio.sleep(600)  # never answers within any test
        return {"owner": user}

    @app.get("/__arrivals")
    def get_arrivals():
        return dict(arrivals)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/__counters")
    def get_counters():
        return counters.snapshot()

    @app.post("/__reset")
    def reset():
        counters.reset()
        arrivals.clear()
        flaky["answered"] = 0
        return {"ok": True}

    @app.post("/__revoke")
    def revoke():
        tokens.revoke_all()
        return {"ok": True}

    @app.post("/__control")
    def control(body: Control):
        tokens.access_ttl = body.access_ttl
        return {"access_ttl": tokens.access_ttl}

    # Starlette wraps in reverse order of addition: CORS is added first so the
    # counting middleware, added last, is outermost.
    app.add_middleware(CORSMiddleware, allow_origins=allow_origins, allow_credentials=True,
                       allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
                       allow_headers=["Authorization", "Content-Type"],
                       expose_headers=["Retry-After"])
    app.add_middleware(CountingMiddleware, counters=counters, arrivals=arrivals)
    return app


def main():
    args = parse_args(__doc__.splitlines()[0])
    # Bind before announcing, so READY means connections will be accepted
    # (and --port 0 can report the port the kernel chose).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(create_app(args.allow_origin, args.access_ttl),
                                           log_level="warning", access_log=False))
    announce_ready(sock.getsockname()[1])
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
