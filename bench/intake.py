"""Intake benchmarks on one database, in one process: "Who can we thank?" and saving.

    DATABASE_URL=... python bench/intake.py --partners 100000 --referrals 2000000 --out r.json

bench/run.py drives this once per database. Steps:
1. Make sure the database exists, is migrated and holds seeded data at the requested
   scale (a marker file under bench/data says what was seeded where); seed it if not.
2. intake.search: partners_search(q) over a fixed mix of queries built from the data
   (exact, misspelled, partial, "Dr. X" and "Last, First" forms, contact names), each
   timed in several rounds with its floor, candidate_rows(q) (the bare full-text query),
   right next to it. Per query the median of the rounds; over queries p50 and p95.
3. intake.search.http: the same queries through the source_search endpoint with the
   Django test client, logged in as the front desk (if that view is there).
4. intake.save: referral_record(...) for an existing patient and partner, each in its own
   transaction as in production; floor: a bare one-row INSERT in its own transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT))

GOALS = {
    "intake.search": {"p95_max": 30, "ratio_max": 3},
    "intake.search.http": {"p95_max": 30},
    "intake.save": {"p95_max": 50},
}


# --- The database and its data -------------------------------------------------------

def database_key(url: str) -> str:
    return url.rsplit("/", 1)[-1].replace(".sqlite3", "")


def read_marker(url: str) -> dict[str, Any]:
    path = DATA / f"marker-{database_key(url)}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_marker(url: str, marker: dict[str, Any]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"marker-{database_key(url)}.json").write_text(json.dumps(marker, indent=2))


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql.format(name=name))


def pg_database_exists(url: str) -> bool:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() \
            is not None


def recreate_database(url: str) -> None:
    """An empty database at url: a new SQLite file, or DROP and CREATE on PostgreSQL."""
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[1])
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    _pg_admin(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(url, 'CREATE DATABASE "{name}"')


def ensure_data(url: str, partners: int, referrals: int, seed: int, log: Callable) -> dict:
    """Migrate, and seed unless the marker says this database already holds this scale.
    Returns the marker (with the seed's timing, from this run or the one that seeded)."""
    wanted = {"partners": partners, "referrals": referrals, "seed": seed}
    marker = read_marker(url)
    exists = (Path(url.split("sqlite:///", 1)[1]).exists() if url.startswith("sqlite")
              else pg_database_exists(url))
    if not exists or marker.get("wanted") != wanted:
        log(f"(re)creating {database_key(url)} for {partners:,} partners / "
            f"{referrals:,} referrals")
        recreate_database(url)
        marker = {}
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from refnet.partners.models import Partner
    from refnet.referrals.models import Referral

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", verbosity=0, interactive=False)
    if marker and pending:
        # A data migration (e.g. a backfill of 2M rows) leaves dead rows and stale
        # statistics behind; measure what a maintained database would do.
        log(f"{len(pending)} migrations applied; VACUUM ANALYZE / PRAGMA optimize")
        _vacuum_analyze()
    if marker and Partner.objects.count() >= partners and \
            Referral.objects.count() >= referrals:
        log(f"reusing seeded data in {database_key(url)} (seeded {marker.get('seeded_at')})")
        return marker
    if Partner.objects.exists():  # half-seeded or changed: start clean
        from django.db import connections

        connections.close_all()
        recreate_database(url)
        call_command("migrate", verbosity=0, interactive=False)
    from refnet.practice.seed import seed_database

    report = seed_database(partners=partners, referrals=referrals, seed=seed,
                           stream=sys.stderr)
    vacuum = time.perf_counter()
    _vacuum_analyze()
    marker = {
        "wanted": wanted, "seeded_at": date.today().isoformat(),
        "seed_seconds": round(report.seconds, 1),
        "vacuum_seconds": round(time.perf_counter() - vacuum, 1),
        "rows": report.rows, "phases": {k: round(v, 1) for k, v in report.phases.items()},
        "counts": {"partners": report.partners, "contacts": report.contacts,
                   "search_entries": report.search_entries, "patients": report.patients,
                   "referrals": report.referrals, "events": report.events},
    }
    write_marker(url, marker)
    log(f"seeded in {report.seconds:.1f} s ({report.rows:,} rows)")
    return marker


def _vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # As autovacuum would have by now: the visibility map and fresh statistics.
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("PRAGMA optimize")


_django_ready = False


def setup_django() -> None:
    global _django_ready
    if not _django_ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings")
        import django

        django.setup()
        _django_ready = True


# --- The queries ---------------------------------------------------------------------

KEYBOARD_NEIGHBOURS = {
    "a": "qsz", "b": "vgn", "c": "xdv", "d": "sfe", "e": "wrd", "f": "dgr", "g": "fht",
    "h": "gjy", "i": "uok", "j": "hku", "k": "jli", "l": "ko", "m": "nj", "n": "bmh",
    "o": "ipl", "p": "ol", "q": "wa", "r": "etf", "s": "adw", "t": "ryg", "u": "yij",
    "v": "cbf", "w": "qes", "x": "zcs", "y": "tuh", "z": "xa",
}


def misspell(rng: random.Random, text: str) -> str:
    """One typo in the longest word: swap two letters, drop one, or hit a neighbour key."""
    words = text.replace(",", "").split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    index = max(candidates, key=lambda i: (len(words[i]), -i))
    word = words[index]
    pos = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "replace"])
    if kind == "swap":
        word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2:]
    elif kind == "drop":
        word = word[:pos] + word[pos + 1:]
    else:
        near = KEYBOARD_NEIGHBOURS.get(word[pos].lower(), "e")
        word = word[:pos] + rng.choice(near) + word[pos + 1:]
    words[index] = word
    return " ".join(words)


def _person_parts(name: str) -> tuple[str, str, str] | None:
    """(first, last, credential) of 'John Smith, MD' / 'Dr. John Smith' / 'John A. Smith'."""
    credential = ""
    if "," in name:
        name, credential = (part.strip() for part in name.split(",", 1))
    words = [w for w in name.split() if w != "Dr." and not w.endswith(".")]
    if len(words) != 2:
        return None
    return words[0], words[1], credential


def build_queries(count: int, seed: int = 42) -> list[tuple[str, str, int]]:
    """(kind, query, partner id it should find) from a seeded sample of the data."""
    from refnet.partners.models import Contact, Partner

    rng = random.Random(seed)
    top = Partner.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = rng.sample(range(1, top + 1), min(top, count * 3))
    partners = list(Partner.objects.filter(pk__in=ids, merged_into__isnull=True)
                    .values_list("pk", "name", "kind").order_by("pk"))
    rng.shuffle(partners)
    clinicians = [p for p in partners if p[2] == "clinician" and _person_parts(p[1])]
    people = [p for p in partners if _person_parts(p[1])]
    contact_top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    contact_ids = rng.sample(range(1, contact_top + 1), min(contact_top, count))
    contacts = list(Contact.objects.filter(pk__in=contact_ids)
                    .values_list("partner_id", "name").order_by("pk"))
    rng.shuffle(contacts)
    share = {"exact": 0.22, "misspelled": 0.22, "partial": 0.16, "dr": 0.14,
             "last_first": 0.08, "contact": 0.09, "contact_misspelled": 0.09}
    queries: list[tuple[str, str, int]] = []
    pools = {"exact": iter(partners), "misspelled": iter(partners[::-1]),
             "partial": iter(people), "dr": iter(clinicians),
             "last_first": iter(clinicians[::-1]), "contact": iter(contacts),
             "contact_misspelled": iter(contacts[::-1])}
    for kind, fraction in share.items():
        for _ in range(max(1, round(count * fraction))):
            item = next(pools[kind], None)
            if item is None:
                break
            if kind in ("contact", "contact_misspelled"):
                pid, name = item
                query = name if kind == "contact" else misspell(rng, name)
            else:
                pid, name, _kind = item
                parts = _person_parts(name)
                if kind == "exact":
                    query = name
                elif kind == "misspelled":
                    query = misspell(rng, name)
                elif kind == "partial":
                    first, last, _ = parts
                    query = f"{first[:rng.choice([2, 3])]} {last[:rng.choice([2, 3, 4])]}"
                elif kind == "dr":
                    first, last, _ = parts
                    query = f"Dr. {first} {last}" if rng.random() < 0.7 else f"Dr {last}"
                else:
                    first, last, credential = parts
                    query = f"{last}, {first} {credential}".strip()
            queries.append((kind, query, pid))
    return queries


# --- Measuring -----------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def timed(fn: Callable, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000.0, result


def measure_search(queries: list[tuple[str, str, int]], rounds: int, log: Callable
                   ) -> dict[str, Any]:
    from refnet.partners.search import candidate_rows, partners_search

    for _kind, query, _pid in queries[:40]:  # warm caches and the connection
        partners_search(query)
        candidate_rows(query)
    search: dict[int, list[float]] = {i: [] for i in range(len(queries))}
    floor: dict[int, list[float]] = {i: [] for i in range(len(queries))}
    found_top8 = 0
    found_by_kind: dict[str, list[bool]] = {}
    rng = random.Random(7)
    for round_no in range(rounds):
        order = list(range(len(queries)))
        rng.shuffle(order)
        for n, i in enumerate(order):
            query = queries[i][1]
            if n % 2:  # alternate which goes first, so neither always gets the warm cache
                ms, matches = timed(partners_search, query)
                floor_ms, _ = timed(candidate_rows, query)
            else:
                floor_ms, _ = timed(candidate_rows, query)
                ms, matches = timed(partners_search, query)
            search[i].append(ms)
            floor[i].append(floor_ms)
            if round_no == 0:
                hit = queries[i][2] in [m.partner_id for m in matches[:8]]
                found_top8 += hit
                found_by_kind.setdefault(queries[i][0], []).append(hit)
        log(f"search round {round_no + 1}/{rounds} done")
    per_query = [statistics.median(v) for v in search.values()]
    per_query_floor = [statistics.median(v) for v in floor.values()]
    by_kind: dict[str, list[float]] = {}
    for i, (kind, _q, _p) in enumerate(queries):
        by_kind.setdefault(kind, []).append(per_query[i])
    slowest = sorted(range(len(queries)), key=lambda i: -per_query[i])[:8]
    return {
        "p50": statistics.median(per_query), "p95": percentile(per_query, 95),
        "floor_p50": statistics.median(per_query_floor),
        "floor_p95": percentile(per_query_floor, 95),
        "queries": len(queries), "rounds": rounds,
        "found_top8": round(found_top8 / len(queries), 3),
        "p95_by_kind": {k: round(percentile(v, 95), 2) for k, v in by_kind.items()},
        "found_top8_by_kind": {k: round(sum(v) / len(v), 2) for k, v in found_by_kind.items()},
        "slowest": [(queries[i][1], round(per_query[i], 1), round(per_query_floor[i], 1))
                    for i in slowest],
    }


def measure_search_http(queries: list[tuple[str, str, int]], log: Callable
                        ) -> dict[str, Any] | None:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from refnet.accounts.models import User
    from refnet.partners.search import candidate_rows

    try:
        url = reverse("referrals:source_search")
    except NoReverseMatch:
        log("no referrals:source_search view yet: skipping the HTTP measurement")
        return None
    user = User.objects.filter(username="frontdesk").first()
    # As over https behind the TLS proxy: with DEBUG off, plain http is redirected.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    probe = client.get(url, {"q": queries[0][1]}, secure=True)
    if probe.status_code != 200:
        log(f"source_search answered {probe.status_code}: skipping the HTTP measurement")
        return None
    for _kind, query, _pid in queries[:20]:
        client.get(url, {"q": query}, secure=True)
    times, floors = [], []
    for n, (_kind, query, _pid) in enumerate(queries):
        if n % 2:
            ms, response = timed(client.get, url, {"q": query}, secure=True)
            floor_ms, _ = timed(candidate_rows, query)
        else:
            floor_ms, _ = timed(candidate_rows, query)
            ms, response = timed(client.get, url, {"q": query}, secure=True)
        if response.status_code != 200:
            log(f"source_search answered {response.status_code} for {query!r}")
        times.append(ms)
        floors.append(floor_ms)
    return {"p50": statistics.median(times), "p95": percentile(times, 95),
            "floor_p95": percentile(floors, 95), "queries": len(queries)}


def measure_save(count: int, log: Callable) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from refnet.accounts.models import User
    from refnet.partners.models import Partner
    from refnet.practice.models import Location, ServiceLine
    from refnet.practice.seed import REFERRAL_FIELDS, TableWriter, stamp_for_vendor
    from refnet.referrals.models import Patient, Referral
    from refnet.referrals.services import referral_record
    from refnet.reports.rollup import local_month

    rng = random.Random(11)
    user = User.objects.get(username="frontdesk")
    location = Location.objects.order_by("pk").first()
    line = ServiceLine.objects.order_by("pk").first()
    top_patient = Patient.objects.order_by("-pk").values_list("pk", flat=True).first()
    top_partner = Partner.objects.order_by("-pk").values_list("pk", flat=True).first()
    patients = list(Patient.objects.filter(pk__in=rng.sample(range(1, top_patient + 1),
                                                             count * 2))[:count])
    partners = list(Partner.objects.filter(pk__in=rng.sample(range(1, top_partner + 1),
                                                             count * 2),
                                           merged_into__isnull=True)[:count])
    stamp = stamp_for_vendor()
    fields = [f for f in REFERRAL_FIELDS if f != "id"]
    writer = TableWriter(Referral, fields, stamp(timezone.now()))
    columns = ", ".join(connection.ops.quote_name(c) for c in writer.columns)
    placeholders = ", ".join(["%s"] * len(writer.columns))
    returning = " RETURNING id" if connection.vendor == "postgresql" else ""
    floor_sql = (f"INSERT INTO {connection.ops.quote_name(writer.table)} ({columns}) "
                 f"VALUES ({placeholders}){returning}")
    saves, floors, floor_ids = [], [], []

    def bare_insert(patient_id: int, partner_id: int) -> int:
        moment = timezone.now()
        now = stamp(moment)
        # REFERRAL_FIELDS without id: a new referral, received now, no stage reached yet.
        row = (patient_id, partner_id, None, "known", "", location.pk, line.pk, "front_desk",
               now, "received", now, "", None, "", "", "routine", user.pk, now,
               local_month(moment), None, None, None, None)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(floor_sql, [*row, *writer.extra_values])
            return cursor.fetchone()[0] if returning else cursor.lastrowid

    n = min(len(patients), len(partners))
    for i in range(n):
        patient, partner = patients[i], partners[i]
        if i % 2:
            ms, _ = timed(referral_record, patient=patient, source_partner=partner,
                          location=location, service_line=line, by=user)
            floor_ms, floor_id = timed(bare_insert, patient.pk, partner.pk)
        else:
            floor_ms, floor_id = timed(bare_insert, patient.pk, partner.pk)
            ms, _ = timed(referral_record, patient=patient, source_partner=partner,
                          location=location, service_line=line, by=user)
        saves.append(ms)
        floors.append(floor_ms)
        floor_ids.append(floor_id)
    Referral.objects.filter(pk__in=floor_ids).delete()  # the floor's bare rows, untimed
    log(f"{n} saves done")
    return {"p50": statistics.median(saves), "p95": percentile(saves, 95),
            "floor_p50": statistics.median(floors), "floor_p95": percentile(floors, 95),
            "saves": n}


def result(name: str, db: str, scale: dict, figures: dict) -> dict[str, Any]:
    goal = GOALS[name]
    ratio = figures["p95"] / figures["floor_p95"] if figures.get("floor_p95") else None
    met = figures["p95"] <= goal["p95_max"] and (
        "ratio_max" not in goal or (ratio is not None and ratio <= goal["ratio_max"]))
    entry = {"name": name, "db": db, "scale": scale, "unit": "ms",
             "p50": round(figures["p50"], 2), "p95": round(figures["p95"], 2),
             "floor_p95": round(figures["floor_p95"], 2),
             "ratio": round(ratio, 2) if ratio is not None else None,
             "goal": goal, "met": met, "measured_at": date.today().isoformat()}
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    db = "sqlite" if url.startswith("sqlite") else "postgresql"

    def log(text: str) -> None:
        print(f"[{db}] {text}", file=sys.stderr, flush=True)

    marker = ensure_data(url, args.partners, args.referrals, args.seed, log)
    from django.db import connection

    scale = {"partners": args.partners, "referrals": args.referrals}
    queries = build_queries(args.queries)
    log(f"{len(queries)} queries; measuring search")
    search = measure_search(queries, args.rounds, log)
    http = measure_search_http(queries, log)
    save = measure_save(args.saves, log)
    results = [result("intake.search", db, scale, search)]
    if http:
        results.append(result("intake.search.http", db, scale, http))
    results.append(result("intake.save", db, scale, save))
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if db == "sqlite" else "SHOW server_version")
        version = cursor.fetchone()[0]
    Path(args.out).write_text(json.dumps({
        "results": results,
        "details": {"search": search, "http": http, "save": save, "seed": marker,
                    "database": f"{db} {version}"},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
