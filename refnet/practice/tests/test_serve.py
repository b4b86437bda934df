"""refnet serve: gunicorn's arguments (gthread workers keeping connections alive unless
--threads 1 asks for sync workers)."""

import sys

from django.core.management import call_command


def _argv(monkeypatch, **options) -> list[str]:
    from gunicorn.app.wsgiapp import WSGIApplication

    seen: list[list[str]] = []
    monkeypatch.setattr(WSGIApplication, "run", lambda self: seen.append(list(sys.argv)))
    monkeypatch.setattr(WSGIApplication, "__init__", lambda self, usage=None: None)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    call_command("serve", **options)
    return seen[0]


def test_serve_runs_threaded_workers_with_keep_alive_by_default(monkeypatch):
    argv = _argv(monkeypatch, port=8123, workers=4)
    assert argv[argv.index("--workers") + 1] == "4"
    assert argv[argv.index("--threads") + 1] == "2"
    assert argv[argv.index("--keep-alive") + 1] == "5"


def test_serve_with_one_thread_runs_sync_workers(monkeypatch):
    argv = _argv(monkeypatch, threads=1)
    assert "--threads" not in argv and "--keep-alive" not in argv
