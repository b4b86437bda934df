"""NPPES import benchmark: rows per second read from a 1,000,000-row registry file in the
real 330-column layout, into a FRESH database next to the one DATABASE_URL names.

    DATABASE_URL=... python bench/registry.py --rows 1000000 --out r.json

bench/run.py may drive it once per database (it passes --partners/--referrals/--seed, which
do not matter here: the registry import does not read the seeded data). Steps:
1. Generate the files once and cache them under bench/data/ (git-ignored):
   - one state: every row in CO (all rows kept);
   - ten states: the same size, one state in ten (keep CO: most rows read, not kept).
2. For each file: recreate a separate database (DATABASE_URL's name + "_nppes", or the
   SQLite file + "-nppes"), migrate the two apps involved, load ZIP centroids for the CO
   ZIP codes, then time refnet's nppes_import (parsing, validation, batched upserts with
   their checkpoints, organization sizes) end to end.
3. Floor: the same file read with csv.reader and nothing else, i.e. what Python's CSV
   parser alone manages on this machine.
The figure (import.nppes) is rows READ per second, the median over --rounds imports. Each
round also records the CPU seconds of this process and of the reader process it starts
(not PostgreSQL's), and the load average before and after: on a shared 2-core machine the
wall-clock figure depends on what else runs, the CPU time much less.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT))

GOAL = {"min": 50_000}
STATES_TEN = ["CO", "WY", "NE", "KS", "UT", "NM", "AZ", "MT", "ID", "SD"]


def log(db: str, text: str) -> None:
    print(f"[{db}] registry: {text}", file=sys.stderr, flush=True)


def generate(path: Path, rows: int, states: list[str], seed: int, say) -> None:
    if path.exists():
        return
    from refnet.practice.demo import DEMO_ZIP_CENTROIDS
    from refnet.registry.synthetic import nppes_rows, write_nppes

    say(f"generating {path.name} ({rows:,} rows, {len(states)} state(s))")
    started = time.perf_counter()
    zips = [(z, c.upper(), "CO") for z, c, _, _ in DEMO_ZIP_CENTROIDS]
    tmp = path.with_suffix(".partial")
    with tmp.open("w", newline="", encoding="utf-8") as out:
        write_nppes(out, nppes_rows(rows, seed=seed, states=states, zips=zips))
    tmp.rename(path)
    say(f"generated in {time.perf_counter() - started:.0f} s, "
        f"{path.stat().st_size / 1e6:,.0f} MB")


def floor_rows_per_s(path: Path) -> float:
    started = time.perf_counter()
    count = 0
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for _ in reader:
            count += 1
    return count / (time.perf_counter() - started)


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of its waited-for children."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def import_once(url: str, path: Path, states: list[str]) -> dict:
    """Recreate the fresh database, migrate, then time the import alone."""
    from django.db import connections
    from intake import recreate_database  # bench/intake.py

    connections.close_all()
    recreate_database(url)
    from django.core.management import call_command

    call_command("migrate", "practice", verbosity=0, interactive=False)
    call_command("migrate", "registry", verbosity=0, interactive=False)
    from refnet.practice.demo import ensure_zip_centroids
    from refnet.registry.models import RegistryProvider
    from refnet.registry.services.importer import nppes_import

    ensure_zip_centroids()
    load_before, cpu_before = load_average(), cpu_seconds()
    started = time.perf_counter()
    record = nppes_import(path=path, states=states, restart=True)
    seconds = time.perf_counter() - started
    cpu_after = cpu_seconds()
    return {"seconds": round(seconds, 2), "per_s": round(record.rows_read / seconds, 1),
            "cpu_writer_s": round(cpu_after[0] - cpu_before[0], 2),
            "cpu_reader_s": round(cpu_after[1] - cpu_before[1], 2),
            "load_before": load_before, "load_after": load_average(),
            "rows_read": record.rows_read, "rows_kept": record.rows_kept,
            "errors": record.error_count, "status": record.status,
            "providers_in_db": RegistryProvider.objects.count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--partners", type=int, default=0, help="ignored (bench/run.py)")
    parser.add_argument("--referrals", type=int, default=0, help="ignored (bench/run.py)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from bench.fresh import use_fresh_database

    url, db = use_fresh_database("nppes")
    DATA.mkdir(parents=True, exist_ok=True)
    say = lambda text: log(db, text)  # noqa: E731
    files = {
        "one_state": (DATA / f"nppes-{args.rows}-co-s{args.seed}.csv", ["CO"], ["CO"]),
        "ten_states": (DATA / f"nppes-{args.rows}-10states-s{args.seed}.csv", STATES_TEN,
                       ["CO"]),
    }
    results, details = [], {"database": db, "fresh_database": url.rsplit("/", 1)[-1]}
    for key, (path, states, keep) in files.items():
        generate(path, args.rows, states, args.seed, say)
        floor = floor_rows_per_s(path)
        say(f"{key}: floor (csv.reader alone) {floor:,.0f} rows/s")
        rounds = []
        for n in range(args.rounds):
            outcome = import_once(url, path, keep)
            say(f"{key} round {n + 1}: {outcome['rows_read']:,} rows read, "
                f"{outcome['rows_kept']:,} kept in {outcome['seconds']} s = "
                f"{outcome['per_s']:,.0f} rows/s (CPU: writer {outcome['cpu_writer_s']} s, "
                f"reader {outcome['cpu_reader_s']} s; load {outcome['load_before']} -> "
                f"{outcome['load_after']})")
            rounds.append(outcome)
        value = statistics.median(r["per_s"] for r in rounds)
        ok = all(r["status"] == "done" and r["errors"] == 0 for r in rounds)
        results.append({
            "name": "import.nppes" if key == "one_state" else "import.nppes.filtered",
            "db": db, "scale": {"rows": args.rows, "states_in_file": len(states),
                                "states_kept": keep, "columns": 330},
            "unit": "per_s", "value": round(value, 1), "floor": round(floor, 1),
            "ratio": round(floor / value, 2) if value else None,
            "goal": GOAL, "met": ok and value >= GOAL["min"],
            "measured_at": date.today().isoformat()})
        details[key] = {"file": path.name, "megabytes": round(path.stat().st_size / 1e6),
                        "rounds": rounds, "floor_per_s": round(floor, 1)}
    Path(args.out).write_text(json.dumps({"results": results, "details": {"registry": details}},
                                         indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
