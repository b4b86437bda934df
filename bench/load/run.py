"""The load benchmark: a busy medical group on refnet, under gunicorn with the worker running.

    python bench/load/run.py [--db sqlite|postgresql] [--duration 600] [--users 110]
                             [--web-workers 4] [--web-threads 2] [--out results.json]

1. Prepare the database once (a marker in bench/data/ remembers it): migrate, `refnet seed
   --partners 20000 --referrals 400000` (a group of about ten locations: ~550 referrals a
   day over two years, 20,000 people and places that may refer), and the load staff
   (bench/load/prepare.py). SQLite: bench/data/load-20000x400000.sqlite3; PostgreSQL:
   $BENCH_POSTGRES_URL with "_load_20000_400000" appended to the database name.
2. Start, on 127.0.0.1 and free ports: an SMTP sink (aiosmtpd, counting messages by
   Message-ID), `refnet serve --workers N --threads T` (gunicorn) and `refnet worker`
   sending to it.
3. Wait for /health/ to answer 200, then run locust headless (bench/load/locustfile.py):
   --users simulated staff log in over 60 s, the figures are reset once all are in, and
   the working day is measured for --duration seconds after that.
4. Stop everything (SIGTERM, then SIGKILL after 15 s; every child is in its own process
   group, and an atexit hook and a SIGTERM handler make sure of it), and write the figures:
   load.mixed with requests/s, p50/p95/p99 and errors, plus CPU seconds used by the server
   processes per request and the load average, in bench/results.json's format to --out
   (bench/run.py's suite "load" merges them) and to stdout. The CPU per request counts
   from the reset on, as the requests do (the log-ins' Argon2 hashes are not in it).

Run time: seeding ~1 min (SQLite) / ~3 min (PostgreSQL) the first time, then --duration
+ about 1.5 min (migrate and staff check, the 60 s of log-ins, stopping); the official
10-minute run is about 12 minutes per database. A later run reuses the database (the
referrals the previous runs saved stay: a few thousand per 10-minute run at the goal's
rate, 1–2 % of the table).
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "bench" / "data"
BIN = Path(sys.executable).parent
SCALE = (20_000, 400_000)
GOAL = {"min": 150, "p99_max": 300, "errors_max": 0}
CHILDREN: list[subprocess.Popen] = []
# Staff log in over the first SPAWN_SECONDS (a login is a deliberately slow Argon2 hash);
# the figures are reset once everyone is in, so they describe the working day.
SPAWN_SECONDS = 60


def log(text: str) -> None:
    print(f"[load] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(db: str) -> str:
    partners, referrals = SCALE
    if db == "sqlite":
        return f"sqlite:///{DATA / f'load-{partners}x{referrals}.sqlite3'}"
    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/refnet_bench")
    return f"{base}_load_{partners}_{referrals}"


def base_env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1", "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "load-bench-" + "k" * 50),
            "SECURE_SSL_REDIRECT": "false"}


def managers_needed(users: int) -> int:
    """Managers are a tenth of the locust users (their class weight); one login each."""
    return users // 10 + 2


def prepare(db: str, url: str, users: int, totp_out: Path, staff_out: Path) -> None:
    partners, referrals = SCALE
    marker = DATA / f"load-{db}-{partners}x{referrals}.seeded"
    env = base_env(url)
    DATA.mkdir(parents=True, exist_ok=True)
    if db == "postgresql":
        import psycopg

        server, name = url.rsplit("/", 1)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
                marker.unlink(missing_ok=True)
    elif not Path(url.split("sqlite:///", 1)[1]).exists():
        marker.unlink(missing_ok=True)
    subprocess.run([BIN / "refnet", "migrate", "--noinput", "-v", "0"], env=env, check=True,
                   cwd=ROOT, timeout=900)
    if not marker.exists():
        log(f"{db}: seeding {partners:,} partners / {referrals:,} referrals (once)")
        started = time.perf_counter()
        subprocess.run([BIN / "refnet", "seed", "--partners", str(partners), "--referrals",
                        str(referrals)], env=env, check=True, cwd=ROOT, timeout=1800)
        marker.write_text(json.dumps({"seeded_at": date.today().isoformat(),
                                      "seconds": round(time.perf_counter() - started)}))
    subprocess.run([sys.executable, HERE / "prepare.py", "--managers",
                    str(managers_needed(users)), "--totp-out", str(totp_out), "--staff-out",
                    str(staff_out)], env=env, check=True, cwd=ROOT, timeout=600)
    if db == "postgresql":
        # What autovacuum does on a production server (it is off on this one): the
        # previous runs' rows and the migrations' new indexes get statistics and a
        # visibility map, so that index-only counts do not read the table.
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")


def start(command: list, env: dict, out: Path) -> subprocess.Popen:
    handle = open(out, "ab")  # noqa: SIM115 - closed with the process's life
    process = subprocess.Popen([str(c) for c in command], env=env, cwd=ROOT, stdout=handle,
                               stderr=subprocess.STDOUT, start_new_session=True)
    CHILDREN.append(process)
    return process


def stop(process: subprocess.Popen, grace: float = 15) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def stop_all() -> None:
    for process in reversed(CHILDREN):
        stop(process)


def wait_healthy(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health/", timeout=5) as response:
                if response.status == 200:
                    return
        except Exception as error:  # noqa: BLE001 - not up yet
            last = str(error)
        time.sleep(0.5)
    raise RuntimeError(f"{base}/health/ did not answer 200 within {timeout:.0f} s ({last})")


class SmtpSink:
    """aiosmtpd on loopback, counting messages by Message-ID (duplicates are kept apart)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.ids: dict[str, int] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd
                from email import message_from_bytes

                mid = message_from_bytes(envelope.content).get("Message-ID", "")
                with sink.lock:
                    sink.ids[mid] = sink.ids.get(mid, 0) + 1
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return len(self.ids), sum(n - 1 for n in self.ids.values() if n > 1)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their children (gunicorn's workers)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            parent = psutil.Process(pid)
            for p in [parent, *parent.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process (on this machine), or None for SQLite."""
    if not url.startswith("postgres"):
        return None
    import psutil
    import psycopg

    with psycopg.connect(url) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    return psutil.Process(backend).ppid()


def database_cpu_seconds(postmaster: int | None) -> float:
    """CPU of the PostgreSQL server: the postmaster, its live processes (backends, the
    checkpointer, WAL writer...) and those it has reaped since it started (backends that
    closed, parallel workers). 0 for SQLite, whose work is in the web processes."""
    if postmaster is None:
        return 0.0
    import psutil

    try:
        main = psutil.Process(postmaster)
        times = main.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in main.children():
            try:
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
            except psutil.Error:
                pass  # exited meanwhile: counted in children_* from the next reading
        return total
    except psutil.Error:
        return 0.0


def _ms(value: str) -> float:
    try:
        return float(value)
    except ValueError:  # "N/A": no request of that kind after the reset
        return 0.0


def read_stats(prefix: Path) -> dict:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    total = next(r for r in rows if r["Name"] == "Aggregated")
    by_name = {
        r["Name"]: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                    "p50": _ms(r["50%"]), "p95": _ms(r["95%"]),
                    "p99": _ms(r["99%"])}
        for r in rows if r["Name"] != "Aggregated"}
    return {"requests": int(total["Request Count"]), "failures": int(total["Failure Count"]),
            "p50": _ms(total["50%"]), "p95": _ms(total["95%"]),
            "p99": _ms(total["99%"]), "by_name": by_name}


def steady_rate(prefix: Path) -> float | None:
    """Requests per second after everyone logged in (locust's history CSV: the running
    total drops to zero when the figures are reset)."""
    try:
        with open(f"{prefix}_stats_history.csv", newline="") as handle:
            rows = [(float(r["Timestamp"]), int(r["Total Request Count"]))
                    for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]
    except (OSError, ValueError):
        return None
    reset = max((i for i in range(1, len(rows)) if rows[i][1] < rows[i - 1][1]), default=0)
    steady = rows[reset + 1:]
    if len(steady) < 2:
        return None
    span = steady[-1][0] - steady[0][0]
    return round((steady[-1][1] - steady[0][1]) / span, 1) if span > 0 else None


def run(args: argparse.Namespace) -> dict:
    url = database_url(args.db)
    work = Path(tempfile.mkdtemp(prefix=f"refnet-load-{args.db}-"))
    totp = work / "totp.json"
    log(f"{args.db}: preparing {url.rsplit('/', 1)[-1]} (logs in {work})")
    staff = work / "staff.json"
    prepare(args.db, url, args.users, totp, staff)

    sink = SmtpSink()
    sink.start()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**base_env(url), "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port),
           "REFNET_BASE_URL": base, "REFNET_DATA_DIR": str(work / "data")}
    web = start([BIN / "refnet", "serve", "--host", "127.0.0.1", "--port", port,
                 "--workers", args.web_workers, "--threads", args.web_threads], env,
                work / "web.log")
    worker = start([BIN / "refnet", "worker", "--name", "load-worker"], env,
                   work / "worker.log")
    try:
        wait_healthy(base)
        acks = work / "acked.txt"
        failed = work / "login-failed.txt"
        postmaster = postmaster_pid(url)
        cpu_before = cpu_seconds([web.pid, worker.pid])
        db_before = database_cpu_seconds(postmaster)
        load_before = os.getloadavg()
        started = time.monotonic()
        prefix = work / "locust"
        locust = start([BIN / "locust", "-f", HERE / "locustfile.py", "--headless",
                        "--host", base, "--users", args.users,
                        "--spawn-rate", f"{args.users / SPAWN_SECONDS:.3f}",
                        "--reset-stats",
                        "--run-time", f"{args.duration + SPAWN_SECONDS}s", "--stop-timeout", "10",
                        "--csv", prefix, "--csv-full-history", "--only-summary",
                        "--loglevel", "WARNING"],
                       {**env, "REFNET_LOAD_ACK_FILE": str(acks),
                        "REFNET_LOAD_LOGIN_FAILED_FILE": str(failed),
                        "REFNET_LOAD_TOTP_KEYS": str(totp),
                        "REFNET_LOAD_STAFF": str(staff)}, work / "locust.log")
        loads = []
        cpu_at_reset = None  # the figures are reset once everyone is in: CPU from then on
        db_at_reset = locust_at_reset = locust_cpu_total = 0.0
        while locust.poll() is None:
            if time.monotonic() - started > args.duration + SPAWN_SECONDS + 120:
                log("locust did not stop by itself; stopping it")
                stop(locust)
                break
            time.sleep(5 if cpu_at_reset is not None else 1)
            if cpu_at_reset is None and time.monotonic() - started >= SPAWN_SECONDS:
                cpu_at_reset = cpu_seconds([web.pid, worker.pid])
                db_at_reset = database_cpu_seconds(postmaster)
                locust_at_reset = cpu_seconds([locust.pid])
            if cpu_at_reset is not None:
                loads.append(os.getloadavg()[0])
                # Last reading while it runs (it cannot be read once it exited).
                locust_cpu_total = cpu_seconds([locust.pid]) or locust_cpu_total
        elapsed = time.monotonic() - started
        cpu_end = cpu_seconds([web.pid, worker.pid])
        db_cpu = database_cpu_seconds(postmaster) - (
            db_at_reset if cpu_at_reset is not None else db_before)
        locust_cpu = locust_cpu_total - (locust_at_reset if cpu_at_reset is not None else 0)
        cpu = cpu_end - (cpu_at_reset if cpu_at_reset is not None else cpu_before)
        cpu_with_logins = cpu_end - cpu_before
        stats = read_stats(prefix)
    finally:
        stop(worker)
        stop(web)
        sink.stop()
    delivered, doubled = sink.counts()
    acked = len(acks.read_text().split()) if acks.exists() else 0
    rate = steady_rate(prefix) or round(stats["requests"] / max(elapsed - SPAWN_SECONDS, 1), 1)
    failed_logins = (len(failed.read_text().splitlines()) if failed.exists() else 0)
    if failed_logins:
        log(f"{failed_logins} staff could not log in: see {failed}")
    errors = stats["failures"] + failed_logins
    detail = {
        "database": args.db, "users": args.users, "web_workers": args.web_workers,
        "web_threads": args.web_threads,
        "duration_s": args.duration, "requests": stats["requests"], "errors": errors,
        "failed_logins": failed_logins, "requests_per_s_steady": rate,
        "p50_ms": stats["p50"], "p95_ms": stats["p95"], "p99_ms": stats["p99"],
        # From the reset on (the requests counted); the log-ins before it (Argon2 hashes)
        # are in server_cpu_s_with_logins only.
        "server_cpu_s": round(cpu, 1),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(stats["requests"], 1), 2),
        "server_cpu_s_with_logins": round(cpu_with_logins, 1),
        # PostgreSQL's own processes over the same window (0 on SQLite: in-process).
        "database_cpu_s": round(db_cpu, 1),
        "database_cpu_ms_per_request": round(db_cpu * 1000 / max(stats["requests"], 1), 2),
        # The load generator shares the 2 cores: its CPU per request, for the budget.
        "locust_cpu_ms_per_request": round(locust_cpu * 1000 / max(stats["requests"], 1),
                                           2),
        "load_average_start": round(load_before[0], 2),
        "load_average_mean": round(sum(loads) / len(loads), 2) if loads else None,
        "referrals_acknowledged": acked, "emails_delivered": delivered,
        "emails_doubled": doubled, "by_name": stats["by_name"], "logs": str(work),
    }
    met = rate >= GOAL["min"] and stats["p99"] <= GOAL["p99_max"] and errors == 0
    result = {"name": "load.mixed", "db": args.db,
              "scale": {"partners": SCALE[0], "referrals": SCALE[1]}, "unit": "per_s",
              "value": rate, "p50": stats["p50"], "p95": stats["p95"], "p99": stats["p99"],
              "errors": errors, "goal": GOAL, "met": met,
              "measured_at": date.today().isoformat()}
    return {"results": [result], "details": detail}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--users", type=int, default=110,
                        help="simulated staff (110 offer about 170 requests/s when pages are fast)")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--web-threads", type=int, default=2,
                        help="threads per gunicorn worker (>1: gthread, keep-alive)")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--out", help="also write the figures here (JSON)")
    # bench/run.py passes these to every suite; the load scenario has its own size.
    parser.add_argument("--partners", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--referrals", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    output = run(args)
    text = json.dumps(output, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    r, d = output["results"][0], output["details"]
    log(f"{args.db}: {r['value']} req/s steady, p50 {r['p50']} / p95 {r['p95']} / p99 "
        f"{r['p99']} ms, {r['errors']} errors; CPU ms per request: web and worker "
        f"{d['server_cpu_ms_per_request']}, PostgreSQL {d['database_cpu_ms_per_request']}, "
        f"locust {d['locust_cpu_ms_per_request']}; load average {d['load_average_mean']}; "
        f"met {r['met']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
