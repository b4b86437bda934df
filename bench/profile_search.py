"""Where "Who can we thank?" spends its time, stage by stage, on a seeded bench database.

    DATABASE_URL=sqlite:///bench/data/refnet-100000x2000000.sqlite3 \
        python bench/profile_search.py [--queries 400] [--explain 3]

Stages of partners_search (refnet/partners/search.py), each timed on its own over the
same query mix as bench/intake.py: normalizing the query, the candidate full-text query,
scoring the candidates with rapidfuzz, and the referral-volume query that ranks them.
Also counts how many index entries each query matches before the LIMIT, which is what
the candidate query's cost follows, and prints the plan of the slowest queries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake import build_queries, percentile, setup_django  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--explain", type=int, default=2)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from refnet.partners import search as s
    from refnet.referrals.models import Referral

    queries = build_queries(args.queries)
    stages: dict[str, list[float]] = {"terms": [], "candidates": [], "score": [], "volume": [],
                                      "total": []}
    matched: list[tuple[int, str, float]] = []
    for _kind, query, _pid in queries[:30]:
        s.partners_search(query)
    for _kind, query, _pid in queries:
        t0 = time.perf_counter()
        words, sounds = s._query_terms(query)
        query_words = s.name_words(query)
        query_text = " ".join(query_words)
        t1 = time.perf_counter()
        rows = s.candidate_rows(query)
        t2 = time.perf_counter()
        best: dict[int, float] = {}
        for _id, partner_id, _contact, _label, _source, entry_words in rows:
            score = s._score(query_words, query_text, entry_words)
            if score >= s.MIN_SCORE and score > best.get(partner_id, -1):
                best[partner_id] = score
        t3 = time.perf_counter()
        since = timezone.now() - timedelta(days=settings.REFNET_SEARCH_VOLUME_DAYS)
        dict(Referral.objects.filter(source_partner_id__in=list(best), received_at__gte=since)
             .values("source_partner_id").annotate(n=Count("id"))
             .values_list("source_partner_id", "n"))
        t4 = time.perf_counter()
        for name, a, b in (("terms", t0, t1), ("candidates", t1, t2), ("score", t2, t3),
                           ("volume", t3, t4), ("total", t0, t4)):
            stages[name].append((b - a) * 1000)
        matched.append((_count_matches(connection, s, words, sounds), query, (t2 - t1) * 1000))
    print(f"{connection.vendor}: {len(queries)} queries, ms per stage")
    print(f"  {'stage':<11} {'p50':>8} {'p95':>8} {'mean':>8}")
    for name, values in stages.items():
        print(f"  {name:<11} {statistics.median(values):8.2f} {percentile(values, 95):8.2f} "
              f"{statistics.fmean(values):8.2f}")
    counts = [m[0] for m in matched]
    print(f"entries matched before LIMIT {s.CANDIDATES}: p50 {statistics.median(counts):.0f}, "
          f"p95 {percentile(counts, 95):.0f}, max {max(counts)}")
    matched.sort(key=lambda m: -m[2])
    print("slowest candidate queries (matches, query, ms):")
    for count, query, ms in matched[:10]:
        words, sounds = s._query_terms(query)
        print(f"  {count:>7} {query!r:<32} {ms:7.1f}  words={words} sounds={sounds}")
    for _count, query, _ms in matched[:args.explain]:
        _explain(connection, s, query)
    return 0


def _count_matches(connection, s, words, sounds) -> int:
    if not words:
        return 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT count(*) FROM partners_searchentry e WHERE {s.PG_DOCUMENT} "
                           "@@ to_tsquery('simple'::regconfig, %s)", [s._tsquery(words, sounds)])
        else:
            cursor.execute("SELECT count(*) FROM partners_searchfts WHERE partners_searchfts "
                           "MATCH %s", [s._fts5_query(words, sounds)])
        return cursor.fetchone()[0]


def _explain(connection, s, query: str) -> None:
    words, sounds = s._query_terms(query)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tsq = s._tsquery(words, sounds)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + s.PG_CANDIDATES_SQL,
                           [tsq, tsq, s.CANDIDATES])
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + s.SQLITE_CANDIDATES_SQL,
                           [s._fts5_query(words, sounds), s.CANDIDATES])
        print(f"plan for {query!r}:")
        for row in cursor.fetchall():
            print("   ", " ".join(str(c) for c in row))


if __name__ == "__main__":
    sys.exit(main())
