"""Faults under load, scripted: `python bench/load/faults.py [--only NAME,...]`.

NAME: pg_restart, smtp_down, worker_kill (default: all three, one after the other).

Each scenario builds a small fresh database (2,000 partners / 20,000 referrals, the load
staff, and 400 e-mails falling due evenly from 20 s into the run to 10 s before its end,
so that the harm meets deliveries in flight), starts an SMTP sink (aiosmtpd, counting by
Message-ID), gunicorn (2 workers) and `refnet worker`, puts locust load on it
(bench/load/locustfile.py, 40 staff) for --duration seconds, and does one harm a third of
the way in:

- pg_restart: the database is restarted (PostgreSQL `pg_ctl restart -m fast`). It runs on
  a throwaway cluster made for the purpose (initdb into a temp dir as the postgres OS
  user, port 5499, socket in the temp dir), never on a shared server.
- smtp_down: the SMTP server goes away for 20 s, then comes back on the same port.
- worker_kill: the worker gets SIGKILL; a new one starts 15 s later (what systemd's
  Restart= does).

Then it checks and prints:
- requests: every intake the client was told was saved ("Saved: ... referral #N") is in
  the database; errors the users saw, by page; and that the last 15 s had none (the
  service came back by itself, nothing restarted but the harmed part);
- messages: every message the outbox marks sent arrived at the sink, none twice (by
  Message-ID), and none is left queued;
- /health/: its answers second by second, so the outage is visible and ends.

The results go to stdout as JSON and are written down in docs/operations.md. SQLite for
smtp_down and worker_kill (the database is not what is being harmed), the throwaway
PostgreSQL for pg_restart. Takes about --duration + 60 s per scenario.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as harness  # noqa: E402 - bench/load/run.py: start/stop, the SMTP sink

ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
PG_PORT = 5499
MESSAGES = 400


def log(text: str) -> None:
    print(f"[faults] {text}", file=sys.stderr, flush=True)


def django(env: dict, code: str) -> str:
    """Run a few lines of Django against env's database; their stdout."""
    prelude = ("import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
               "'refnet.settings'); django.setup()\n")
    done = subprocess.run([sys.executable, "-c", prelude + code], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own, to restart at will without touching anyone's."""

    def __init__(self) -> None:
        if PG_BIN is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.dir = Path(tempfile.mkdtemp(prefix="refnet-load-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.url = f"postgres://postgres@127.0.0.1:{PG_PORT}/refnet_load_faults"

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        command = " ".join(f"'{a}'" for a in args)
        subprocess.run(["su", "postgres", "-c", command], check=True, timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _ctl(self, *args: str) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60",
                          *args)

    def start(self) -> None:
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres", "--no-sync")
        self._ctl("-o", f"-p {PG_PORT} -k {self.dir} -c fsync=off -c max_connections=60",
                  "-l", str(self.dir / "server.log"), "start")
        self._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT),
                          "refnet_load_faults")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def destroy(self) -> None:
        try:
            self._ctl("-m", "immediate", "stop")
        except Exception:  # noqa: BLE001 - already down
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class RestartableSink(harness.SmtpSink):
    """The SMTP sink, able to go away and come back on the same port, a little slow (20 ms a
    message) so that a worker is often in the middle of one when it is harmed."""

    def __init__(self) -> None:
        super().__init__()
        from aiosmtpd.controller import Controller

        handler = self.controller.handler
        original = handler.handle_DATA

        async def slow(server, session, envelope):
            import asyncio

            await asyncio.sleep(0.02)
            return await original(server, session, envelope)

        handler.handle_DATA = slow
        self._make = lambda: Controller(handler, hostname="127.0.0.1", port=self.port)

    def down(self) -> None:
        self.controller.stop()

    def up(self) -> None:
        self.controller = self._make()
        self.controller.start()


def health_poller(base: str, stop: threading.Event, timeline: list) -> None:
    started = time.monotonic()
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=10) as response:
                code, body = response.status, ""
        except urllib.error.HTTPError as error:
            code, body = error.code, error.read().decode()[:200]
        except Exception as error:  # noqa: BLE001 - down is an answer too
            code, body = 0, type(error).__name__
        second = round(time.monotonic() - started)
        if not timeline or timeline[-1][1] != code:
            timeline.append((second, code, body))
        stop.wait(1)


def failures_over_time(prefix: Path) -> list[tuple[float, int]]:
    import csv

    with open(f"{prefix}_stats_history.csv", newline="") as handle:
        return [(float(r["Timestamp"]), int(r["Total Failure Count"]))
                for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]


def scenario(name: str, args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"refnet-fault-{name}-"))
    pg = None
    if name == "pg_restart":
        pg = ThrowawayPostgres()
        atexit.register(pg.destroy)
        pg.start()
        url = pg.url
    else:
        url = f"sqlite:///{work / 'refnet.sqlite3'}"
    env = {**harness.base_env(url), "REFNET_DATA_DIR": str(work / "data"),
           # Short timings so that the scenario sees the whole recovery within a minute.
           "REFNET_OUTBOX_BACKOFF_SECONDS": "2", "REFNET_OUTBOX_BACKOFF_MAX_SECONDS": "5",
           "REFNET_OUTBOX_MAX_ATTEMPTS": "50", "REFNET_OUTBOX_LEASE_SECONDS": "10",
           "REFNET_OUTBOX_BATCH": "10", "REFNET_WORKER_TICK_SECONDS": "1",
           "REFNET_HEALTH_WORKER_MAX_AGE_SECONDS": "10", "EMAIL_TIMEOUT": "5"}
    log(f"{name}: preparing {url}")
    subprocess.run([BIN / "refnet", "migrate", "--noinput", "-v", "0"], env=env, check=True,
                   cwd=ROOT, timeout=600)
    subprocess.run([BIN / "refnet", "seed", "--partners", "2000", "--referrals", "20000"],
                   env=env, check=True, cwd=ROOT, timeout=600, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, HERE / "prepare.py", "--managers",
                    str(harness.managers_needed(args.users)), "--totp-out",
                    str(work / "totp.json"), "--staff-out", str(work / "staff.json")],
                   env=env, check=True, cwd=ROOT, timeout=600, stderr=subprocess.DEVNULL)
    before = int(django(env, f"""
from datetime import timedelta
from django.conf import settings
from django.utils import timezone
from refnet.outbox.models import OutboxMessage
from refnet.referrals.models import Referral
from refnet.partners.models import Partner
now = timezone.now()
partner = Partner.objects.first()
OutboxMessage.objects.bulk_create([OutboxMessage(
    channel="email", purpose="check_in", audience="clinical", partner=partner,
    to_name=f"Dr. Load {{i}}", to_address=f"doctor{{i}}@clinic.example",
    subject=f"Checking in {{i}}", body_text="Checking in.",
    # As refnet.outbox.services does: the setting, not the model's default of 6.
    max_attempts=settings.REFNET_OUTBOX_MAX_ATTEMPTS,
    next_attempt_at=now + timedelta(seconds=20 + i * {args.duration - 30} / {MESSAGES}))
    for i in range({MESSAGES})])
print(Referral.objects.order_by("-id").values_list("id", flat=True).first() or 0)
""").strip())

    sink = RestartableSink()
    sink.start()
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    env.update({"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port),
                "REFNET_BASE_URL": base})
    harness.start([BIN / "refnet", "serve", "--host", "127.0.0.1", "--port", port,
                         "--workers", 2], env, work / "web.log")
    worker = harness.start([BIN / "refnet", "worker", "--name", "fault-worker-1"], env,
                           work / "worker.log")
    events: list[tuple[float, str]] = []
    timeline: list = []
    stop_polling = threading.Event()
    try:
        harness.wait_healthy(base)
        poller = threading.Thread(target=health_poller, args=(base, stop_polling, timeline),
                                  daemon=True)
        poller.start()
        acks = work / "acked.txt"
        prefix = work / "locust"
        started = time.monotonic()
        locust = harness.start(
            [BIN / "locust", "-f", HERE / "locustfile.py", "--headless", "--host", base,
             "--users", args.users, "--spawn-rate", args.users, "--run-time",
             f"{args.duration}s", "--stop-timeout", "10", "--csv", prefix,
             "--csv-full-history", "--only-summary", "--loglevel", "WARNING"],
            {**env, "REFNET_LOAD_ACK_FILE": str(acks),
             "REFNET_LOAD_TOTP_KEYS": str(work / "totp.json"),
             "REFNET_LOAD_STAFF": str(work / "staff.json")}, work / "locust.log")
        harm_at = args.duration / 3

        def at(offset: float, what: str, action) -> None:
            time.sleep(max(0.0, started + offset - time.monotonic()))
            events.append((round(time.monotonic() - started, 1), what))
            log(f"{name}: t={events[-1][0]} s: {what}")
            action()

        if name == "pg_restart":
            at(harm_at, "PostgreSQL restart (pg_ctl restart -m fast)", pg.restart)
            events.append((round(time.monotonic() - started, 1), "PostgreSQL is back"))
        elif name == "smtp_down":
            at(harm_at, "SMTP server stopped", sink.down)
            at(harm_at + 20, "SMTP server started again", sink.up)
        elif name == "worker_kill":
            at(harm_at, "worker SIGKILL", lambda: os.killpg(worker.pid, 9))
            new = {}
            at(harm_at + 15, "a new worker starts", lambda: new.setdefault(
                "w", harness.start([BIN / "refnet", "worker", "--name", "fault-worker-2"],
                                   env, work / "worker2.log")))
        locust.wait(timeout=args.duration + 60)
        # Let the worker finish the outbox (bounded), then count.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            left = int(django(env, "from refnet.outbox.models import OutboxMessage as M\n"
                                   "print(M.objects.filter(status__in=['queued','sending'])"
                                   ".count())").strip())
            if not left:
                break
            time.sleep(2)
    finally:
        stop_polling.set()
        harness.stop_all()
        sink.stop()
    acked = [int(x) for x in acks.read_text().split()] if acks.exists() else []
    counts = json.loads(django(env, f"""
import json
from refnet.outbox.channels.email import message_id_for
from refnet.outbox.models import OutboxMessage
from refnet.referrals.models import Referral
acked = {acked!r}
present = set(Referral.objects.filter(pk__in=acked).values_list("pk", flat=True))
sent = OutboxMessage.objects.filter(channel="email", status="sent")
print(json.dumps({{
    "acked_missing": sorted(set(acked) - present),
    "created": Referral.objects.filter(pk__gt={before}).count(),
    "sent_ids": [message_id_for(m) for m in sent],
    "by_status": {{s: OutboxMessage.objects.filter(status=s).count() for s in
                  ("queued", "sending", "sent", "dead", "cancelled", "suppressed")}},
}}))
"""))
    if pg:
        pg.destroy()
    delivered = dict(sink.ids)
    sent_ids = set(counts.pop("sent_ids"))
    stats = harness.read_stats(prefix)
    history = failures_over_time(prefix)
    tail = [f for t, f in history if t >= history[-1][0] - 15] if history else [0]
    result = {
        "scenario": name, "database": "postgresql" if pg else "sqlite",
        "duration_s": args.duration, "users": args.users, "events": events,
        "requests": stats["requests"], "errors_seen_by_users": stats["failures"],
        "errors_by_page": {k: v["failures"] for k, v in stats["by_name"].items()
                           if v["failures"]},
        "errors_in_last_15_s": (tail[-1] - tail[0]) if tail else None,
        "intakes_acknowledged": len(acked),
        "acknowledged_but_missing": counts["acked_missing"],
        "referrals_created": counts["created"],
        "outbox_by_status": counts["by_status"],
        "sent_but_not_delivered": len(sent_ids - set(delivered)),
        "delivered_twice": sum(1 for n in delivered.values() if n > 1),
        "delivered_not_marked_sent": len(set(delivered) - sent_ids),
        "health_timeline": [(t, code) for t, code, _ in timeline],
        "health_problems_seen": sorted({b for _, c, b in timeline if c == 503}),
        "logs": str(work),
    }
    result["ok"] = (not result["acknowledged_but_missing"]
                    and result["errors_in_last_15_s"] == 0
                    and result["sent_but_not_delivered"] == 0
                    and result["delivered_twice"] == 0
                    and not counts["by_status"]["queued"] and not counts["by_status"]["sending"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="pg_restart,smtp_down,worker_kill")
    parser.add_argument("--duration", type=int, default=75)
    parser.add_argument("--users", type=int, default=40)
    args = parser.parse_args()
    atexit.register(harness.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that atexit cleans up
    results = []
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        result = scenario(name, args)
        results.append(result)
        log(f"{name}: ok={result['ok']} " + json.dumps(
            {k: v for k, v in result.items() if k not in ("logs", "health_timeline")}))
    print(json.dumps(results, indent=2))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
