"""refnet serve: the web application under gunicorn (static files by WhiteNoise)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve refnet with gunicorn on HOST:PORT."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=3)
        parser.add_argument("--threads", type=int, default=2,
                            help="Threads per worker (more than 1: gunicorn's gthread "
                                 "workers, which keep connections alive between requests).")
        parser.add_argument("--reload", action="store_true", help="Restart on code changes.")

    def handle(self, *args, host, port, workers, threads, reload, **options):
        from gunicorn.app.wsgiapp import WSGIApplication

        argv = ["gunicorn", "refnet.wsgi:application", "--bind", f"{host}:{port}",
                "--workers", str(workers), "--access-logfile", "-", "--timeout", "60"]
        if threads > 1:
            argv += ["--threads", str(threads), "--keep-alive", "5"]
        if reload:
            argv.append("--reload")
        self.stdout.write(f"refnet is serving on http://{host}:{port}/ (Ctrl+C to stop)")
        import sys

        sys.argv = argv
        WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
