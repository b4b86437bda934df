"""Rules benchmarks on one database, in one process: the full rule pass and an idle tick.

    DATABASE_URL=... python bench/rules.py --partners 100000 --referrals 2000000 --out r.json

bench/run.py drives this once per database. Steps:
1. ensure_data (shared with bench/intake.py): migrate, seed or reuse the data at this scale.
2. rules.full_pass: rules_full_pass() timed over --runs runs. Before each run the state is
   put back as it was (the follow-ups the previous run created are deleted, the cursor is
   removed), so every run does the same work. Floor: the bare grouped SQL that the
   gone-quiet rule reads (quiet_partner_stats), timed in the same run.
3. rules.idle_tick: rules_tick() when nothing is new and the daily pass is done, --ticks
   times; floor: the two bare "anything after the cursor?" probes.
At the end the database is restored again: the bench leaves no follow-ups behind.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake import ensure_data, percentile  # noqa: E402  (bench/ is on the path)

GOALS = {
    "rules.full_pass": {"p95_max": 30000},
    "rules.idle_tick": {"p95_max": 50},
}


def restore(baseline: int) -> None:
    """Remove what the passes made: follow-ups above the baseline id, the cursor."""
    from django.db import transaction

    from refnet.followups.models import FollowUp, RuleCursor

    with transaction.atomic():
        # A raw delete: nothing points at follow-ups, and collecting 100,000 rows in
        # Python would dwarf what is being measured.
        FollowUp.objects.filter(id__gt=baseline)._raw_delete(FollowUp.objects.db)
        RuleCursor.objects.all().delete()


def measure_full_pass(runs: int, log) -> dict:
    from django.utils import timezone

    from refnet.followups.models import FollowUp
    from refnet.followups.rules import rules_full_pass
    from refnet.followups.rules.partner_pass import quiet_partner_stats

    baseline = FollowUp.objects.order_by("-id").values_list("id", flat=True).first() or 0
    times, floors, counts = [], [], {}
    for run in range(runs):
        restore(baseline)
        now = timezone.now()
        start = time.perf_counter()
        quiet_partner_stats(now)
        floors.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        counts = rules_full_pass(now=now)
        times.append((time.perf_counter() - start) * 1000)
        log(f"full pass {run + 1}/{runs}: {times[-1]:.0f} ms (floor {floors[-1]:.0f} ms), "
            f"{counts}")
    return {"p50": statistics.median(times), "p95": percentile(times, 95),
            "floor_p50": statistics.median(floors), "floor_p95": percentile(floors, 95),
            "runs": runs, "counts": counts, "baseline_followups": baseline}


def measure_idle_tick(ticks: int, log) -> dict:
    from refnet.followups.models import RuleCursor
    from refnet.followups.rules import rules_tick
    from refnet.referrals.models import ReferralEvent, Visit

    rules_tick()  # settles anything new since the full pass; the daily pass is done
    cursor = RuleCursor.objects.get()
    times, floors = [], []
    for _ in range(ticks):
        start = time.perf_counter()
        result = rules_tick()
        times.append((time.perf_counter() - start) * 1000)
        if result:
            log(f"tick was not idle: {result}")
        start = time.perf_counter()
        ReferralEvent.objects.filter(id__gt=cursor.last_event_id).exists()
        Visit.objects.filter(id__gt=cursor.last_visit_id).exists()
        floors.append((time.perf_counter() - start) * 1000)
    log(f"{ticks} idle ticks: p95 {percentile(times, 95):.2f} ms")
    return {"p50": statistics.median(times), "p95": percentile(times, 95),
            "floor_p50": statistics.median(floors), "floor_p95": percentile(floors, 95),
            "ticks": ticks}


def result(name: str, db: str, scale: dict, figures: dict) -> dict:
    goal = GOALS[name]
    floor = figures.get("floor_p95")
    ratio = figures["p95"] / floor if floor else None
    return {"name": name, "db": db, "scale": scale, "unit": "ms",
            "p50": round(figures["p50"], 2), "p95": round(figures["p95"], 2),
            "floor_p95": round(floor, 2) if floor is not None else None,
            "ratio": round(ratio, 2) if ratio is not None else None,
            "goal": goal, "met": figures["p95"] <= goal["p95_max"],
            "measured_at": date.today().isoformat()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ticks", type=int, default=50)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    db = "sqlite" if url.startswith("sqlite") else "postgresql"

    def log(text: str) -> None:
        print(f"[{db} rules] {text}", file=sys.stderr, flush=True)

    marker = ensure_data(url, args.partners, args.referrals, args.seed, log)
    from django.db import connection

    from refnet.followups.models import FollowUp

    scale = {"partners": args.partners, "referrals": args.referrals}
    full = measure_full_pass(args.runs, log)
    idle = measure_idle_tick(args.ticks, log)
    restore(full["baseline_followups"])
    log(f"restored: {FollowUp.objects.count()} follow-ups left")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if db == "sqlite" else "SHOW server_version")
        version = cursor.fetchone()[0]
    Path(args.out).write_text(json.dumps({
        "results": [result("rules.full_pass", db, scale, full),
                    result("rules.idle_tick", db, scale, idle)],
        "details": {"rules": {"full_pass": full, "idle_tick": idle}, "seed": marker,
                    "database": f"{db} {version}"},
    }, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
