"""`make bench`: refnet's benchmarks on SQLite and PostgreSQL, at the sizes the issues name.

    python bench/run.py                  # 100,000 partners / 2,000,000 referrals, both DBs
    python bench/run.py --small          # 2,000 / 40,000: a smoke check (reports: no goal)
    python bench/run.py --db sqlite      # one database only

For each database this runs each suite (bench/intake.py, rules.py, outbox.py, reports.py,
registry.py: the NPPES import, imports.py: the referral CSV import, load/run.py: the locust
scenario of a busy group against gunicorn and the worker, ~12 minutes per database)
in a child process (settings are read once per process); each seeds the data if needed
and measures. `--only rules,outbox` runs some of them. Then it merges the figures
into bench/results.json (one object per measurement and database, as BENCHMARKS.md
describes; other benchmarks' entries are kept) and rewrites the table in
docs/benchmarks.md. Every child has a time limit, so the run always ends by itself.

Data lives in bench/data/ (git-ignored): a SQLite file per scale, and a marker per
database recording what was seeded, so a second run reuses it. PostgreSQL:
$BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/refnet_bench); the
database is created if missing; other scales get their own database next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results.json"
DETAILS = BENCH / "details.json"
DOC = ROOT / "docs" / "benchmarks.md"
FULL = (100_000, 2_000_000)
SMALL = (2_000, 40_000)
NOTES_MARK = "<!-- Everything below this line is kept when bench/run.py rewrites the file. -->"


def log(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def database_urls(which: str, partners: int, referrals: int) -> dict[str, str]:
    urls = {}
    if which in ("sqlite", "all"):
        urls["sqlite"] = f"sqlite:///{DATA / f'refnet-{partners}x{referrals}.sqlite3'}"
    if which in ("postgresql", "all"):
        url = os.environ.get("BENCH_POSTGRES_URL",
                             "postgres://postgres@127.0.0.1:5432/refnet_bench")
        if (partners, referrals) != FULL:
            url = f"{url}_{partners}_{referrals}"
        urls["postgresql"] = url
    return urls


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        server = url.rsplit("/", 1)[0]
        with psycopg.connect(f"{server}/postgres", connect_timeout=5):
            return True
    except Exception as error:  # noqa: BLE001 - any failure means: skip this database
        log(f"PostgreSQL not reachable ({error}); skipping it")
        return False


# Each suite is a script run in its own child process (settings are read once per process).
# Every script takes --partners --referrals --seed --out and seeds or reuses the same data.
SUITES = ("intake", "rules", "outbox", "reports", "registry", "imports", "load")
# Suites that are not bench/<suite>.py, and suites left out unless --only names them.
SCRIPTS = {"load": BENCH / "load" / "run.py"}


def suite_command(suite: str, args: argparse.Namespace, out_path: Path,
                  db: str = "sqlite") -> list[str]:
    script = SCRIPTS.get(suite, BENCH / f"{suite}.py")
    command = [sys.executable, str(script), "--partners", str(args.partners),
               "--referrals", str(args.referrals), "--seed", str(args.seed),
               "--out", str(out_path)]
    if suite == "intake":
        command += ["--queries", str(args.queries), "--rounds", str(args.rounds),
                    "--saves", str(args.saves)]
    if suite == "imports":  # the median of --rounds imports of the same file
        command += ["--rounds", str(args.rounds)]
    if suite == "load":
        # Its own data size (20,000 partners / 400,000 referrals, see bench/load/run.py).
        command += ["--db", db, "--duration", str(args.load_duration),
                    "--users", str(args.load_users)]
    if suite == "registry":  # import rounds swing with the machine's load: take a median
        command += ["--rounds", str(args.rounds)]
    return command


def run_one(db: str, url: str, args: argparse.Namespace, suite: str) -> dict | None:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = Path(out.name)
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "LOG_LEVEL": "ERROR",
           "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    try:
        completed = subprocess.run(suite_command(suite, args, out_path, db), env=env, cwd=ROOT,
                                   timeout=args.timeout)
    except subprocess.TimeoutExpired:
        log(f"{db} {suite}: stopped after the {args.timeout} s limit")
        return None
    if completed.returncode != 0:
        log(f"{db}: bench/{suite}.py failed with exit code {completed.returncode}")
        return None
    log(f"{db} {suite}: done in {time.perf_counter() - started:.0f} s")
    try:
        return json.loads(out_path.read_text())
    finally:
        out_path.unlink(missing_ok=True)


def merge_results(new: list[dict]) -> list[dict]:
    try:
        old = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        old = []
    def key(r: dict) -> tuple:
        scale = r.get("scale") or {}
        return (r["name"], r["db"], -scale.get("referrals", 0), -scale.get("partners", 0))

    replaced = {key(r) for r in new}
    kept = [r for r in old if key(r) not in replaced]
    merged = sorted(kept + new, key=key)
    RESULTS.write_text("[\n" + ",\n".join(json.dumps(r) for r in merged) + "\n]\n")
    return merged


def machine() -> dict[str, str]:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"cores": str(os.cpu_count()), "memory": memory,
            "python": platform.python_version(), "system": platform.platform(terse=True)}


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def _goal(goal: dict) -> str:
    parts = []
    if "p95_max" in goal:
        parts.append(f"p95 ≤ {goal['p95_max']} ms")
    if "ratio_max" in goal:
        parts.append(f"ratio ≤ {goal['ratio_max']}")
    if "min" in goal:
        parts.append(f"≥ {goal['min']}/s")
    if "p99_max" in goal:
        parts.append(f"p99 ≤ {goal['p99_max']} ms")
    if "errors_max" in goal:
        parts.append(f"errors ≤ {goal['errors_max']}")
    return ", ".join(parts)


def _describe(detail: dict) -> str:
    """A one-line summary of a suite's scalar details (nested ones are left to details.json)."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{key.replace('_', ' ')} {value:,}" if isinstance(value, int)
                         else f"{key.replace('_', ' ')} {value:g}")
        elif isinstance(value, str) and len(value) < 80:
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts) or "see bench/details.json"


def write_doc(results: list[dict], details: dict) -> None:
    info = machine()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); see /work/shared/BENCHMARKS.md for the "
        "names and the method. Times are server time in milliseconds, measured in-process; "
        "\"floor\" is the bare database query for the same answer, timed in the same run, "
        "and ratio = p95 / floor p95. The machine is shared and noisy: read medians and "
        "ratios, not single runs.",
        "",
        f"Machine: {info['cores']} cores, {info['memory']} memory, Python {info['python']}, "
        f"{info['system']}. Table written {date.today().isoformat()}.",
        "",
        "| what | database | data size | p50 | p95 | floor p95 | ratio | goal | met | measured |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        scale = r.get("scale", {})
        size = (f"{scale.get('partners', 0):,} partners / {scale.get('referrals', 0):,} "
                "referrals" if scale else "-")
        if r.get("unit") == "per_s" and "p99" in r:  # load.mixed: the rate, its p50 and p99
            figures = (f"| {_fmt(r.get('value'))}/s | p50 {_fmt(r.get('p50'))} / p99 "
                       f"{_fmt(r.get('p99'))} ms | | {_fmt(r.get('errors'))} errors ")
        elif r.get("unit") == "per_s":
            figures = f"| {_fmt(r.get('value'))}/s | | | "
        else:
            figures = (f"| {_fmt(r.get('p50'))} | {_fmt(r.get('p95'))} | "
                       f"{_fmt(r.get('floor_p95'))} | {_fmt(r.get('ratio'))} ")
        met = {True: "yes", False: "NO", None: "-"}[r.get("met")]
        lines.append(f"| {r['name']} | {r['db']} | {size} {figures}| "
                     f"{_goal(r['goal']) or 'none (smoke check)'} | "
                     f"{met} | {r.get('measured_at', '')} |")
    lines += ["", "## Per database", ""]
    for where, detail in sorted(details.items()):
        db = where.split("@")[0]
        seed = detail.get("seed") or {}
        search = detail.get("search") or {}
        save = detail.get("save") or {}
        lines += [f"### {detail.get('database', db)}, {where.split('@')[-1]}", ""]
        if seed:
            counts = seed.get("counts", {})
            lines.append(
                f"- Data: {', '.join(f'{v:,} {k}' for k, v in counts.items())}; seeded "
                f"{seed.get('seeded_at')} by `refnet seed` in {seed.get('seed_seconds')} s "
                f"({seed.get('rows', 0):,} rows), then "
                f"{'VACUUM ANALYZE' if db == 'postgresql' else 'PRAGMA optimize'} in "
                f"{seed.get('vacuum_seconds')} s. Phases (s): "
                + ", ".join(f"{k} {v}" for k, v in seed.get("phases", {}).items()) + ".")
        if search:
            lines.append(
                f"- intake.search: {search['queries']} queries × {search['rounds']} rounds, "
                f"median per query; floor p50 {search['floor_p50']:.2f} ms. Target partner "
                f"in the top 8 for {search['found_top8']:.0%} of queries. p95 by kind (ms): "
                + ", ".join(f"{k} {v}" for k, v in search["p95_by_kind"].items()) + ".")
            if "found_top8_by_kind" in search:
                lines.append("- Target in the top 8 by kind: " + ", ".join(
                    f"{k} {v:.0%}" for k, v in search["found_top8_by_kind"].items()) + ".")
            lines.append("- Slowest queries (search ms / floor ms): " + "; ".join(
                f"`{q}` {ms} / {fl}" for q, ms, fl in search["slowest"]) + ".")
        if save:
            lines.append(f"- intake.save: {save['saves']} saves, floor p50 "
                         f"{save['floor_p50']:.2f} ms.")
        for suite in SUITES:
            if suite != "intake" and isinstance(detail.get(suite), dict):
                lines.append(f"- {suite}: " + _describe(detail[suite]) + ".")
        lines.append("")
    notes = ""
    if DOC.exists() and NOTES_MARK in DOC.read_text():
        notes = DOC.read_text().split(NOTES_MARK, 1)[1]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines) + "\n" + NOTES_MARK + (notes or "\n"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="2,000 partners / 40,000 "
                        "referrals instead of the full size")
    parser.add_argument("--partners", type=int)
    parser.add_argument("--referrals", type=int)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "all"], default="all")
    parser.add_argument("--only", default=",".join(SUITES),
                        help=f"comma-separated suites to run (default: {','.join(SUITES)})")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load-duration", type=int, default=600,
                        help="seconds of locust load in the load suite")
    parser.add_argument("--load-users", type=int, default=110,
                        help="simulated staff in the load suite")
    parser.add_argument("--timeout", type=int, default=2700,
                        help="seconds allowed per database, seeding included")
    args = parser.parse_args()
    default = SMALL if args.small else FULL
    args.partners = args.partners or default[0]
    args.referrals = args.referrals or default[1]
    DATA.mkdir(parents=True, exist_ok=True)

    new, details = [], {}
    try:
        details = json.loads(DETAILS.read_text())
    except (OSError, ValueError):
        pass
    for db, url in database_urls(args.db, args.partners, args.referrals).items():
        if db == "postgresql" and not postgres_reachable(url):
            continue
        log(f"{db}: {args.partners:,} partners / {args.referrals:,} referrals")
        where = f"{db}@{args.partners}x{args.referrals}"
        for suite in [s.strip() for s in args.only.split(",") if s.strip()]:
            output = run_one(db, url, args, suite)
            if output is None:
                continue
            new += output["results"]
            if suite == "intake":
                details[where] = {**details.get(where, {}), **output["details"]}
            else:
                details.setdefault(where, {})[suite] = output["details"]
            for r in output["results"]:
                if r.get("unit") == "per_s":
                    log(f"{db}: {r['name']}: {r['value']}/s, met {r['met']}")
                else:
                    log(f"{db}: {r['name']}: p50 {r['p50']} ms, p95 {r['p95']} ms, floor p95 "
                        f"{r.get('floor_p95')} ms, ratio {r.get('ratio')}, met {r['met']}")
    if not new:
        log("nothing measured")
        return 1
    merged = merge_results(new)
    DETAILS.write_text(json.dumps(details, indent=2) + "\n")
    write_doc(merged, details)
    log(f"wrote {RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
