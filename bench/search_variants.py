"""Try other candidate queries for "Who can we thank?" without touching the application.

    DATABASE_URL=... python bench/search_variants.py [--queries 400] [--rounds 3]

Each variant replaces partners.search.candidate_rows for the length of its run (the
rest of partners_search, rapidfuzz scoring and volume ranking, is unchanged), so the
figures are whole-search server times plus how often the partner the query was built
from is in the top 8, which is what the front desk sees:

  current    the query as refnet runs it: any word as a prefix OR any sound key
  no-initial the same without one-letter words ("M." in "David M. Smith", the "C" of
             "PA-C"): as prefixes they match every name starting with that letter
  and-first  every typed word must match, by prefix or by sound:
             (david* | D130 | TFT) & (smith* | S530 | SM0); the current OR query only
             when that finds fewer than 10 entries (a typo that changes the sound)
  stored-*   PostgreSQL only: the same queries over a tsvector kept in a column (here a
             side table bench_search_document built from partners_searchentry), so the
             recheck and ts_rank read it instead of running to_tsvector per matched row

The side table is dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake import build_queries, percentile, setup_django  # noqa: E402

FALLBACK_BELOW = 10


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from refnet.partners import search as s

    queries = build_queries(args.queries)
    variants: dict[str, Callable] = {
        "current": s.candidate_rows,
        "no-initial": _variant(s, connection, "plain", and_first=False),
        "and-first": _variant(s, connection, "plain", and_first=True),
    }
    if connection.vendor == "postgresql":
        _build_side_table(connection)
        variants["stored-current"] = _variant(s, connection, "stored", and_first=False,
                                              keep_initials=True)
        variants["stored-and-first"] = _variant(s, connection, "stored", and_first=True)
    try:
        print(f"{connection.vendor}: {len(queries)} queries x {args.rounds} rounds; "
              "whole partners_search, median per query (ms)")
        print(f"  {'variant':<18} {'p50':>7} {'p95':>7} {'cand p95':>9} {'top-8':>6}")
        for name, fn in variants.items():
            p50, p95, cand95, found = _measure(s, fn, queries, args.rounds)
            print(f"  {name:<18} {p50:7.2f} {p95:7.2f} {cand95:9.2f} {found:6.1%}")
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_search_document")
    return 0


def _measure(s, candidates: Callable, queries, rounds: int):
    original = s.candidate_rows
    s.candidate_rows = candidates
    try:
        for _kind, query, _pid in queries[:30]:
            s.partners_search(query)
        times: dict[int, list[float]] = {i: [] for i in range(len(queries))}
        cand: dict[int, list[float]] = {i: [] for i in range(len(queries))}
        found = 0
        for round_no in range(rounds):
            for i, (_kind, query, pid) in enumerate(queries):
                t0 = time.perf_counter()
                candidates(query)
                t1 = time.perf_counter()
                matches = s.partners_search(query)
                t2 = time.perf_counter()
                cand[i].append((t1 - t0) * 1000)
                times[i].append((t2 - t1) * 1000)
                if round_no == 0 and pid in [m.partner_id for m in matches[:8]]:
                    found += 1
    finally:
        s.candidate_rows = original
    per_query = [statistics.median(v) for v in times.values()]
    per_cand = [statistics.median(v) for v in cand.values()]
    return (statistics.median(per_query), percentile(per_query, 95),
            percentile(per_cand, 95), found / len(queries))


def _build_side_table(connection) -> None:
    from refnet.partners.search import PG_DOCUMENT

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_search_document")
        cursor.execute(
            "CREATE TABLE bench_search_document AS SELECT e.id, e.partner_id, e.contact_id, "
            f"e.label, e.source, e.words, {PG_DOCUMENT} AS document "
            "FROM partners_searchentry e")
        cursor.execute("ALTER TABLE bench_search_document ADD PRIMARY KEY (id)")
        cursor.execute("CREATE INDEX ON bench_search_document USING gin (document)")
        cursor.execute("VACUUM ANALYZE bench_search_document")


def _variant(s, connection, table: str, *, and_first: bool, keep_initials: bool = False
             ) -> Callable:
    """A candidate_rows replacement: same columns, same LIMIT."""

    def terms(query: str) -> tuple[list[str], list[str]]:
        words, sounds = s._query_terms(query)
        if not keep_initials:
            words = [w for w in words if len(w) > 1] or words
        return words, sounds

    def or_query(words: list[str], sounds: list[str], limit: int) -> list[tuple]:
        if connection.vendor == "postgresql":
            return _pg(table, s._tsquery(words, sounds), limit)
        return _sqlite(s._fts5_query(words, sounds), limit)

    def and_query(words: list[str], limit: int) -> list[tuple]:
        groups = []
        for w in words:
            # Each typed word by prefix, its formal names (bill -> william), or its sound.
            spellings = [w, *s.NICKNAMES.get(w, ())]
            keys = s.sound_keys([x for x in spellings if len(x) >= 3])
            if connection.vendor == "postgresql":
                groups.append("(" + " | ".join([f"{x}:*A" for x in spellings]
                                               + [f"{k.lower()}:B" for k in keys]) + ")")
            else:
                parts = [f'words : "{x}"*' for x in spellings] + [
                    f'sounds : "{k}"' for k in keys]
                groups.append("(" + " OR ".join(parts) + ")")
        if connection.vendor == "postgresql":
            return _pg(table, " & ".join(groups), limit)
        return _sqlite(" AND ".join(groups), limit)

    def _pg(where: str, tsq: str, limit: int) -> list[tuple]:
        document = "e.document" if where == "stored" else s.PG_DOCUMENT
        source = "bench_search_document" if where == "stored" else "partners_searchentry"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT e.id, e.partner_id, e.contact_id, e.label, e.source, e.words "
                f"FROM {source} e WHERE {document} @@ to_tsquery('simple'::regconfig, %s) "
                f"ORDER BY ts_rank({document}, to_tsquery('simple'::regconfig, %s)) DESC "
                "LIMIT %s", [tsq, tsq, limit])
            return cursor.fetchall()

    def _sqlite(match: str, limit: int) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(s.SQLITE_CANDIDATES_SQL, [match, limit])
            return cursor.fetchall()

    def candidate_rows(query: str, limit: int = s.CANDIDATES) -> list[tuple]:
        words, sounds = terms(query)
        if not words:
            return []
        # Nicknames add formal names as alternatives, not as extra required words.
        typed = [w for w in s.name_words(query) if len(w) > 1 or keep_initials] or words
        if and_first and len(typed) > 1:
            rows = and_query(typed, limit)
            if len(rows) >= FALLBACK_BELOW:
                return rows
        return or_query(words, sounds, limit)

    return candidate_rows


if __name__ == "__main__":
    sys.exit(main())
