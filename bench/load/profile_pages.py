"""Server CPU per request of the pages the load scenario reads, one page at a time.

    DATABASE_URL=sqlite:////tmp/load.sqlite3 DEBUG=false \
        python bench/load/profile_pages.py [--requests 40] [--pages list,board]
                                           [--profile board] [--top 30]

Run against a database prepared like bench/load/run.py's (`refnet seed --partners 20000
--referrals 400000`, then bench/load/prepare.py for the load_<role>_<n> staff). Each page is
requested in-process with Django's test client, logged in as the role that reads it in
bench/load/locustfile.py and with the same kind of URLs (random status and page of the
referral list, referrals picked from the list, partners from a search, one of the
reports...), and the figures per page are: CPU ms per request (time.process_time of this
process, which includes the middleware stack and the test client's own small overhead),
wall ms, SQL queries per request and, on PostgreSQL, the server's CPU ms per request
(bench/pgcpu.py: the connection's backend plus any parallel workers). `--profile PAGE`
runs cProfile over that page's requests and prints the functions with the most cumulative
and own time; `--sql PAGE` prints the SQL of one request of that page with each query's
time.

The weighted mean uses each page's share of the scenario's requests (WEIGHTS, derived from
the locustfile's user weights, task weights and pauses; requests/s at 110 users), counting
only these pages: the intake page, its searches and saves are left out.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SOURCE_WORDS = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
                "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin "
                "Family Orthopedic Sports Spine Dr. Urgent Pediatric Chiropractic Denver "
                "Aurora").split()
LIST_STATUSES = ("received", "contacted", "scheduled", "")
REFERRAL_LINK = re.compile(r'href="/referrals/(\d+)/"')
PARTNER_LINK = re.compile(r'href="/partners/(\d+)/"')
REPORT_LINK = re.compile(r'href="/reports/r/([a-z0-9_-]+)/"')

# Requests/s of each page in the scenario at 110 users (55 front desk, 33 coordinators,
# 11 managers, 11 outreach; a task every ~2 s, managers ~4 s, front desk ~2.5 s with its
# typing pauses): front desk's list look-ups (5.4) and coordinators' (9.9); a referral's
# page from the list (9.9) and again after ~60 % of them move it (5.3); board and inbox 3.3
# each; dashboard 1.65, report list and one report 1.1 each; partner search and a partner
# 3.3 each, directory and network board 1.1 each.
WEIGHTS = {"list": 15.3, "detail": 15.2, "board": 3.3, "inbox": 3.3, "dashboard": 1.65,
           "report_list": 1.1, "report": 1.1, "partner_search": 3.3, "partner_detail": 3.3,
           "directory": 1.1, "network": 1.1}
ROLE = {"list": "coordinator", "detail": "coordinator", "board": "coordinator",
        "inbox": "coordinator", "dashboard": "manager", "report_list": "manager",
        "report": "manager", "partner_search": "outreach", "partner_detail": "outreach",
        "directory": "outreach", "network": "outreach"}


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="per page, after warm-up")
    parser.add_argument("--pages", default=",".join(WEIGHTS))
    parser.add_argument("--profile", default="", help="cProfile this page")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sql", default="", help="print the SQL of one request of this page")
    parser.add_argument("--sql-chars", type=int, default=600, help="of each query --sql prints")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from bench.pgcpu import server_cpu_ms
    from refnet.accounts.models import User
    from refnet.twofactor.testing import force_login_verified

    rng = random.Random(args.seed)
    clients: dict[str, Client] = {}
    for role in set(ROLE.values()):
        user = User.objects.get(username=f"load_{role}_1")
        clients[role] = force_login_verified(Client(), user)

    def get(page: str, url: str) -> str:
        response = clients[ROLE[page]].get(url, secure=True)
        if response.status_code != 200:
            raise SystemExit(f"{page}: {response.status_code} on {url}")
        return response.content.decode()

    # The ids the scenario would click on: referrals from list pages, partners from
    # searches, report slugs from the report list.
    referral_ids: list[str] = []
    for status in ("received", "contacted", "scheduled", ""):
        referral_ids += REFERRAL_LINK.findall(get("list", f"/referrals/?status={status}"))
    partner_ids: list[str] = []
    for word in SOURCE_WORDS:
        partner_ids += PARTNER_LINK.findall(get("partner_search", f"/partners/?q={word}"))[:10]
    slugs = sorted(set(REPORT_LINK.findall(get("report_list", "/reports/r/"))))

    urls: dict[str, Callable[[], str]] = {
        "list": lambda: (f"/referrals/?status={rng.choice(LIST_STATUSES)}"
                         f"&page={rng.randint(1, 5)}"),
        "detail": lambda: f"/referrals/{rng.choice(referral_ids)}/",
        "board": lambda: "/referrals/board/",
        "inbox": lambda: "/inbox/",
        "dashboard": lambda: "/reports/",
        "report_list": lambda: "/reports/r/",
        "report": lambda: f"/reports/r/{rng.choice(slugs)}/",
        "partner_search": lambda: f"/partners/?q={rng.choice(SOURCE_WORDS)}",
        "partner_detail": lambda: f"/partners/{rng.choice(partner_ids)}/",
        "directory": lambda: f"/partners/?page={rng.randint(1, 20)}",
        "network": lambda: "/network/",
    }
    if args.sql:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            get(args.sql, urls[args.sql]())
        for q in captured.captured_queries:
            print(f"{float(q['time']) * 1000:7.1f} ms  {q['sql'][:args.sql_chars]}")
        return 0
    pages = [p for p in args.pages.split(",") if p]
    if args.profile:
        pages = [args.profile]
    counter = QueryCounter()
    rows = []
    with connection.execute_wrapper(counter):
        for page in pages:
            for _ in range(3):  # warm-up: caches, compiled templates
                get(page, urls[page]())
            cpu, server, wall, queries = [], [], [], []
            profiler = cProfile.Profile(time.process_time) if page == args.profile else None
            for _ in range(args.requests):
                url = urls[page]()
                counter.count = 0
                c0, w0, s0 = time.process_time(), time.perf_counter(), server_cpu_ms()
                if profiler:
                    profiler.enable()
                get(page, url)
                if profiler:
                    profiler.disable()
                cpu.append((time.process_time() - c0) * 1000)
                server.append(server_cpu_ms() - s0)
                wall.append((time.perf_counter() - w0) * 1000)
                queries.append(counter.count)
            rows.append((page, statistics.fmean(cpu), statistics.median(cpu), max(cpu),
                         statistics.fmean(server), statistics.median(wall),
                         statistics.fmean(queries), max(queries)))
            if profiler:
                stats = pstats.Stats(profiler).strip_dirs()
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)
    print(f"{connection.vendor}, {args.requests} requests per page, load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'page':<15} {'cpu mean':>9} {'cpu p50':>8} {'cpu max':>8} {'db cpu':>7} "
          f"{'wall p50':>9} {'queries':>8} {'q max':>6}")
    for page, mean, p50, top, db, wall_p50, q, q_max in rows:
        print(f"{page:<15} {mean:9.1f} {p50:8.1f} {top:8.1f} {db:7.1f} {wall_p50:9.1f} "
              f"{q:8.1f} {q_max:6d}")
    measured = [(WEIGHTS[r[0]], r[1], r[4]) for r in rows if r[0] in WEIGHTS]
    if measured:
        total = sum(w for w, _, _ in measured)
        print(f"weighted mean CPU ms over these pages: "
              f"{sum(w * ms for w, ms, _ in measured) / total:.1f} here, "
              f"{sum(w * db for w, _, db in measured) / total:.1f} in PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
