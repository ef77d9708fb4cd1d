"""A second, untrusted origin that records every request it receives, to prove
tokens never leak to it.

    /usr/bin/python3 tests/servers/recorder.py --port 9000

Its CORS is deliberately permissive (it echoes the Origin, the requested
headers and method, and allows credentials): if a client ever attached the
token to a call here, the browser would really send it, and the log would show it.

  GET  /__log          {"requests": [{"method", "path", "headers": {lower-case name: value}}]}
  POST /__reset        clears the log
  GET  /redirect?to=U  302 to U (recorded like any other request)
  anything else        200 {"ok": true}
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from common import announce_ready

LOG = []
LOG_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real backends

    def handle_one_request(self):
        # One entry point for every method: BaseHTTPRequestHandler would
        # otherwise need a do_<METHOD> per verb.
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            self.close_connection = True
            return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        if url.path == "/__log":
            with LOG_LOCK:
                return self.reply(200, {"requests": list(LOG)})
        if url.path == "/__reset":
            with LOG_LOCK:
                LOG.clear()
            return self.reply(200, {"ok": True})
        with LOG_LOCK:
            LOG.append({"method": self.command, "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()}})
        if url.path == "/redirect":
            return self.reply(302, {}, location=parse_qs(url.query).get("to", ["/"])[0])
        self.reply(200, {"ok": True})

    def reply(self, status, body, location=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        origin = self.headers.get("Origin")
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
        for request_header, allow_header in (("Access-Control-Request-Headers", "Access-Control-Allow-Headers"),
                                             ("Access-Control-Request-Method", "Access-Control-Allow-Methods")):
            if self.headers.get(request_header):
                self.send_header(allow_header, self.headers[request_header])
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, *args):
        pass  # the log is served at /__log; stderr stays for errors


def main():
    # Only --port: the CORS policy answers every origin by design.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free one (printed on the READY line)")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    announce_ready(server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
