"""Where the referral import's time goes: bench/imports.py's import (same file, same fresh
database), with every SQL statement and executemany timed (wall and CPU seconds of this
process) and grouped, the batches' writing, the end phase (after the last batch: index
builds, rollup upserts, trigger re-creation) and the commit shown apart.

    DATABASE_URL=sqlite:////tmp/x.sqlite3 python bench/import_phases.py --rows 200000

A development tool (not part of `make bench`); the timers add ~1 µs per statement.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--source-partners", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=0.02,
                        help="show single statements taking at least this (wall)")
    parser.add_argument("--checkpoint-apart", action="store_true",
                        help="SQLite: no automatic checkpoint at the import's commit; "
                             "time a checkpoint after it instead (commit = WAL writes)")
    args = parser.parse_args()
    from bench.fresh import use_fresh_database

    url, db = use_fresh_database("imports")
    import imports as bench  # bench/imports.py

    path = bench.DATA / f"referrals-{args.rows}-p{args.source_partners}-s{args.seed}.csv"
    bench.DATA.mkdir(parents=True, exist_ok=True)
    bench.generate(path, args.rows, args.source_partners, args.seed, print)

    from django.db.backends import utils
    from django.db.backends.base import base

    from refnet.imports import referral_rows

    phase = ["setup"]
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    singles: list[tuple[str, str, float, float]] = []

    def label(sql: str) -> str:
        sql = " ".join(sql.split())
        if m := re.match(r"(CREATE (?:UNIQUE )?INDEX) \"?(\w+)\"?", sql):
            return f"{m[1]} {m[2]}"
        if m := re.match(r"INSERT INTO (\w+)", sql):
            return f"INSERT {m[1]}"
        if m := re.match(r"(CREATE TRIGGER|DROP TRIGGER IF EXISTS|DROP INDEX) \"?(\w+)", sql):
            return m[1].split()[0] + " " + m[1].split()[1]
        return sql[:50]

    def timed(original):
        def wrapper(self, sql, *rest, **kw):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(self, sql, *rest, **kw)
            finally:
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                name = label(sql) + (" (many)" if original is many else "")
                entry = totals[(phase[0], name)]
                entry[0] += wall
                entry[1] += cpu
                entry[2] += 1
                if phase[0] != "batches" and wall >= args.min_seconds:
                    singles.append((phase[0], name, wall, cpu))
        return wrapper

    one, many = utils.CursorWrapper.execute, utils.CursorWrapper.executemany
    utils.CursorWrapper.execute = timed(one)
    utils.CursorWrapper.executemany = timed(many)

    marks: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    def clock(name: str, function):
        def wrapper(*a, **kw):
            before, wall, cpu = phase[0], time.perf_counter(), time.process_time()
            phase[0] = name
            try:
                return function(*a, **kw)
            finally:
                marks[name][0] += time.perf_counter() - wall
                marks[name][1] += time.process_time() - cpu
                phase[0] = before
        return wrapper

    referral_rows._flush = clock("batches", referral_rows._flush)
    referral_rows._IndexesAside.finish = clock("end: indexes", referral_rows._IndexesAside.finish)
    referral_rows._Rollups.finish = clock("end: rollups", referral_rows._Rollups.finish)
    base.BaseDatabaseWrapper.commit = clock("commit", base.BaseDatabaseWrapper.commit)

    if args.checkpoint_apart:
        from django.db import connection

        process = referral_rows.process_referrals

        def without_checkpoint(run):
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint = 0")
            return process(run)

        referral_rows.process_referrals = without_checkpoint
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = bench.import_once(url, path, args.source_partners, print)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if args.checkpoint_apart:
        w, c = time.perf_counter(), time.process_time()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            print("checkpoint", cursor.fetchall())
        marks["checkpoint after"] = [time.perf_counter() - w, time.process_time() - c]
    print(f"\n{outcome['rows']:,} rows, {outcome['seconds']} s wall = {outcome['per_s']:,} "
          f"rows/s; this process {cpu:.2f} CPU s; reader {outcome['reader_cpu_seconds']} "
          f"CPU s; load {outcome['load_average']}; {outcome['status']}")
    print(f"\n{'phase':<16} {'wall s':>8} {'CPU s':>8}")
    for name, (w, c) in marks.items():
        print(f"{name:<16} {w:8.2f} {c:8.2f}")
    print(f"\n{'phase':<14} {'statement':<58} {'n':>7} {'wall s':>8} {'CPU s':>8}")
    for (name, what), (w, c, n) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
        if w >= args.min_seconds:
            print(f"{name:<14} {what[:58]:<58} {n:7} {w:8.2f} {c:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
