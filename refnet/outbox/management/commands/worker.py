"""`refnet worker`: run the follow-up rules on a schedule and deliver the outbox.

    refnet worker [--once] [--no-rules] [--no-deliver] [--tick SECONDS] [--name NAME]

Each tick: heartbeat; rules_tick and digests_tick (unless --no-rules); deliver due messages
in batches until none are due (unless --no-deliver); then wait for the next tick or the next
due message, whichever is sooner. SIGTERM or SIGINT: the message in hand is finished, the
rest of the batch released, the heartbeat marked stopped, exit status 0. A database failure
during a tick (a restart, a failover) is logged, the connection dropped, and the next tick
reconnects: the worker does not exit.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from refnet.outbox.worker import (
    DeliveryCounts,
    default_worker_name,
    deliver_due,
    heartbeat,
    next_due_at,
    release_claims,
)
from refnet.sqlite.base import checkpoint

log = logging.getLogger("refnet.worker")


def run_rules(now) -> dict | None:
    """One incremental rules pass; a failure is logged and the worker carries on."""
    try:
        from refnet.followups.rules import rules_tick  # written alongside; imported late
    except ImportError as exc:
        log.warning("rules are not available (%s); delivering only", exc)
        return None
    try:
        return rules_tick(now=now)
    except Exception:
        log.exception("rules_tick failed; will try again next tick")
        return None


def run_digests(now) -> dict | None:
    """Queue the digests that are due (reports.digest); a failure is logged, like the rules."""
    try:
        from refnet.reports.digest import digests_tick  # imported late, like rules_tick
    except ImportError as exc:
        log.warning("digests are not available (%s)", exc)
        return None
    try:
        return digests_tick(now=now)
    except Exception:
        log.exception("digests_tick failed; will try again next tick")
        return None


def drop_connection() -> None:
    """Forget a broken database connection; the next query opens a new one."""
    try:
        connection.close()
    except DatabaseError:
        connection.connection = None


class Command(BaseCommand):
    help = "Evaluate follow-up rules and deliver the outbox, every tick, until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="One tick, then exit.")
        parser.add_argument("--no-rules", action="store_true", help="Do not run the rules.")
        parser.add_argument("--no-deliver", action="store_true",
                            help="Do not deliver the outbox.")
        parser.add_argument("--tick", type=float, default=None,
                            help="Seconds between ticks (REFNET_WORKER_TICK_SECONDS).")
        parser.add_argument("--name", default=None,
                            help="This worker's name in claims and heartbeats.")

    def handle(self, *args, **options) -> None:
        if log.level == logging.NOTSET or log.level > logging.INFO:
            # A line per tick that did something, whatever the root level; -v 2 shows all.
            log.setLevel(logging.DEBUG if options["verbosity"] >= 2 else logging.INFO)
        if not log.handlers and not logging.getLogger().handlers:
            logging.basicConfig()
        name = options["name"] or default_worker_name()
        tick = options["tick"] if options["tick"] is not None else \
            settings.REFNET_WORKER_TICK_SECONDS
        stop = threading.Event()

        def request_stop(signum, _frame) -> None:
            log.info("worker %s: %s received, stopping after the message in hand", name,
                     signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        log.info("worker %s started (tick %.1fs)", name, tick)
        try:
            while not stop.is_set():
                try:
                    self.tick(name=name, options=options, stop=stop)
                    wait = self.wait_seconds(tick, deliver=not options["no_deliver"])
                except DatabaseError:
                    if options["once"]:
                        raise
                    # The database went away (restarted, failed over, network): drop the
                    # connection and try again next tick. Messages claimed in the lost
                    # tick come back when their lease lapses, with the same Message-ID.
                    log.exception("worker %s: the database failed during a tick; "
                                  "reconnecting in %.0f s", name, tick)
                    drop_connection()
                    wait = tick
                if options["once"]:
                    break
                stop.wait(wait)
        finally:
            try:
                released = release_claims(name)
                heartbeat(name, stopped=True)
            except DatabaseError:
                log.warning("worker %s: could not release its claims (the database is "
                            "unreachable); they come back when their lease lapses", name)
                released = 0
            log.info("worker %s stopped%s", name,
                     f"; released {released} claimed messages" if released else "")

    def tick(self, *, name: str, options: dict, stop: threading.Event) -> None:
        close_old_connections()  # honour CONN_MAX_AGE and drop broken connections
        started = time.perf_counter()
        now = timezone.now()
        heartbeat(name)
        rules = None if options["no_rules"] else run_rules(now)
        if not options["no_rules"]:
            # Before delivery, so a digest queued now goes out in this same tick.
            digests = run_digests(now)
            __import__("refnet.updates.tick", fromlist=["run"]).run(now)  # never raises
            __import__("refnet.growth.tick", fromlist=["run"]).run(now)  # never raises
            __import__("refnet.hl7.tick", fromlist=["run"]).run(now)  # never raises
            if isinstance(digests, dict) and any(digests.values()):
                rules = {**(rules if isinstance(rules, dict) else {}), **digests}
        counts = DeliveryCounts() if options["no_deliver"] else deliver_due(
            worker=name, stop=stop, after_batch=lambda: heartbeat(name))
        # SQLite: the write-ahead log goes back into the database here, not in a request.
        checkpoint(connection)
        ms = (time.perf_counter() - started) * 1000
        summary = " ".join(f"{k}={v}" for k, v in counts.as_dict().items() if v)
        rule_summary = ""
        if isinstance(rules, dict) and any(rules.values()):
            rule_summary = " rules: " + " ".join(f"{k}={v}" for k, v in rules.items() if v)
        # Idle ticks log at DEBUG: a worker that has nothing to do should not fill the log.
        level = logging.INFO if (summary or rule_summary) else logging.DEBUG
        log.log(level, "tick %.0fms deliver: %s%s", ms, summary or "nothing due", rule_summary)

    def wait_seconds(self, tick: float, *, deliver: bool) -> float:
        if not deliver:
            return tick
        due = next_due_at()
        if due is None:
            return tick
        # A small floor: a due row another worker is claiming right now must not make us spin.
        return max(0.05, min(tick, (due - timezone.now()).total_seconds()))
