"""Django + DRF + simplejwt + django-cors-headers backend with rotating, blacklisted refresh tokens.

    /usr/bin/python3 tests/servers/django_app/serve.py --port 8000 \
        --allow-origin http://127.0.0.1:3000 [--access-ttl 20]

Starts on a fresh temporary sqlite database (migrated here, removed on exit)
with the user admin/test123. POST /api/v1/auth/token/ -> {access, refresh};
POST /api/v1/auth/token/refresh/ {"refresh"} -> a new pair, the old refresh
token blacklisted. Served by Django's threaded development server.
"""
import os
import secrets
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/servers

from common import announce_ready, counting_wsgi, parse_args  # noqa: E402


def main():
    args = parse_args(__doc__.splitlines()[0])
    workdir = tempfile.mkdtemp(prefix="authgate-django-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="django_app.settings",
        AUTHGATE_DJANGO_SECRET=secrets.token_hex(32),
        AUTHGATE_DJANGO_DB=os.path.join(workdir, "db.sqlite3"),
        AUTHGATE_ACCESS_TTL=str(args.access_ttl),
        AUTHGATE_ALLOW_ORIGINS=",".join(args.allow_origin),
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the finally below runs
    try:
        import django
        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
        from django.core.wsgi import get_wsgi_application

        from django_app.views import COUNTERS

        call_command("migrate", verbosity=0)
        User.objects.create_user("admin", password="test123")

        class Server(ThreadedWSGIServer):
            request_queue_size = 128  # Django's 10 would drop bursts of concurrent calls

        server = Server(("127.0.0.1", args.port), WSGIRequestHandler)
        server.set_app(counting_wsgi(get_wsgi_application(), COUNTERS))
        announce_ready(server.server_address[1])
        server.serve_forever()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
