"""CPU and queries per request of the front desk's endpoints, in one process, no server.

    DATABASE_URL=... python bench/load/overhead.py [--repeat 200] [--profile NAME]

Runs against a prepared load database (bench/load/run.py or prepare.py made the staff):
Django's test client, logged in as load_front_desk_1 over "HTTPS" (secure=True), asks
for each endpoint --repeat times and prints, per endpoint, the CPU time of this process
per request (time.process_time: the database's own work is in it for SQLite, not for
PostgreSQL, whose server's CPU for this connection is shown apart: bench/pgcpu.py), the
wall time and the queries per request.
"/" (a redirect to the intake page) is the fixed cost every request pays: middleware,
session, user, role checks. After each request the connection is closed or kept as the
server does (CONN_MAX_AGE). --profile NAME prints a cProfile of that endpoint.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

WORDS = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
         "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin").split()
SOURCES = WORDS + ["Family", "Orthopedic", "Sports", "Spine", "Dr.", "Urgent"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--profile", default="")
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings")
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.pgcpu import server_cpu_ms
    from refnet.accounts.models import User
    from refnet.practice.models import Location
    from refnet.twofactor.testing import force_login_verified

    user = User.objects.get(username="load_front_desk_1")
    client = Client(HTTP_HOST="localhost")
    force_login_verified(client, user)
    location = (user.default_location or Location.objects.filter(is_active=True).first()).pk
    rng = random.Random(7)

    def patient_word() -> str:
        return rng.choice(WORDS)[: rng.randint(3, 7)]

    def save_data() -> dict:
        return {"location": location, "channel": "front_desk", "reason": "",
                "patient_mode": "new", "new_first_name": "Ada",
                "new_last_name": rng.choice(WORDS), "new_birth_date": "1970-01-15",
                "source_mode": "unknown", "source_text": "a friend"}

    def saved(response):
        """The desk reads the "Saved" message on the page the save redirects to; here
        nobody does, so drop it, or a hundred would pile up in the messages cookie and
        every later request would sign and encode them all again."""
        client.cookies.pop("messages", None)
        return response

    def served(request):
        """As under gunicorn: the request_finished signal closes the database connection
        unless CONN_MAX_AGE keeps it (the test client turns that signal off)."""
        def call():
            response = request()
            close_old_connections()
            return response
        return call

    endpoints = {
        "fixed (/ redirect)": lambda: client.get("/", secure=True),
        "intake (page)": lambda: client.get("/referrals/intake/", secure=True),
        "intake: patient search": lambda: client.get(
            "/referrals/intake/patients/", {"q": patient_word()}, secure=True),
        "intake: who can we thank": lambda: client.get(
            "/referrals/intake/sources/", {"q": rng.choice(SOURCES)[: rng.randint(3, 8)]},
            secure=True),
        "intake: save": lambda: saved(client.post("/referrals/intake/", save_data(),
                                                  secure=True)),
    }
    endpoints = {name: served(call) for name, call in endpoints.items()}
    if args.only:
        wanted = args.only.split(",")
        endpoints = {k: v for k, v in endpoints.items() if any(w in k for w in wanted)}
    print(f"{connection.vendor}, {args.repeat} requests each, "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, call in endpoints.items():
        for _ in range(5):  # warm caches and the connection
            response = call()
            assert response.status_code in (200, 302), (name, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            call()
        per_request = len(queries)
        wanted = args.profile and args.profile in name
        profile = cProfile.Profile(time.process_time) if wanted else None
        cpu, wall, db = time.process_time(), time.perf_counter(), server_cpu_ms()
        if profile:
            profile.enable()
        for _ in range(args.repeat):
            call()
        if profile:
            profile.disable()
        db = server_cpu_ms() - db  # PostgreSQL's own CPU ms (0 on SQLite)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{name:28s} {cpu / args.repeat * 1000:7.2f} ms CPU  "
              f"{db / args.repeat:7.2f} ms database CPU  "
              f"{wall / args.repeat * 1000:7.2f} ms wall  {per_request:3d} queries")
        if profile:
            # SORT=tottime TOP=80 in the environment to see it another way.
            pstats.Stats(profile).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
                int(os.environ.get("TOP", "40")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
