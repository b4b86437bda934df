"""Speed: days from receiving a referral to first contact and to the first visit, median
and 90th percentile, by location or by source, computed in the database.

By location, when the period holds more than EXACT_UP_TO referrals and no service-line
filter, the figures come from the rollups instead: counts from MonthlyReferralStat,
percentiles from SpeedHistogram (delays counted in fixed buckets, kept exact by
triggers), exact to the bucket; for the whole months of the period, plus or minus the
referral table's rows of the days at its edges, bucketed the same way (combined.py).
Otherwise exact, from the referral table:
PostgreSQL has percentile_cont. SQLite has no percentile aggregate, so its query numbers
each group's values with ROW_NUMBER() and COUNT() windows and returns only the (at most
four) rows at the ranks the percentiles need; the interpolation between two neighbours
(what percentile_cont does) is done here on those few rows. Both give the same answers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, F, Sum, Value

from refnet.reports.charts import ChartSpec, Series
from refnet.reports.rollup import _more

from .base import (
    Column,
    ReportFilter,
    ReportTable,
    base_params,
    dims_filtered,
    list_exact,
    may_see_rows,
    referral_list_url,
    referrals_in,
    stats_in,
)
from .combined import read_parts
from .over_time import group_labels

BY_OPTIONS = ("location", "source")
SPEED_TOP = 50
MEASURES = ("contact", "seen")  # contacted_at, seen_at
_GROUP = {"location": "location_id", "source": "source_partner_id"}
# Percentiles as integer fractions, so SQLite picks ranks with integer arithmetic.
_PCTS = {"median": (1, 2), "p90": (9, 10)}


def _inner(f: ReportFilter, by: str, ids: list[Any] | None) -> tuple[str, tuple]:
    qs = referrals_in(f)
    if ids is not None:
        qs = qs.filter(**{f"{_GROUP[by]}__in": [i for i in ids if i is not None]})
    qs = qs.annotate(grp=F(_GROUP[by]) if ids is not None else Value(0),
                     r_at=F("received_at"), c_at=F("contacted_at"), s_at=F("seen_at"))
    sql, params = qs.values("grp", "r_at", "c_at", "s_at").query.sql_with_params()
    return sql, params


def _percentiles_postgres(sql: str, params: tuple, with_overall: bool = False
                          ) -> dict[Any, dict[str, float | None]]:
    """Per group (and, with_overall, over all the rows, under ALL: a grouping set of the
    same scan, for when the groups hold every row)."""
    def days(col: str) -> str:
        return f"EXTRACT(EPOCH FROM ({col} - r_at)) / 86400.0"

    cols = []
    for m, col in (("contact", "c_at"), ("seen", "s_at")):
        for name, (num, den) in _PCTS.items():
            cols.append(f"percentile_cont({num / den}) WITHIN GROUP (ORDER BY {days(col)}) "
                        f"AS {m}_{name}")
    group = "GROUPING SETS ((grp), ())" if with_overall else "grp"
    query = f"SELECT grp, GROUPING(grp), {', '.join(cols)} FROM ({sql}) t GROUP BY {group}"
    with connection.cursor() as cur:
        cur.execute(query, params)
        names = [d[0] for d in cur.description]
        return {(ALL if row[1] else row[0]): {k: (float(v) if v is not None else None)
                                              for k, v in zip(names[2:], row[2:], strict=True)}
                for row in cur.fetchall()}


# The key of the overall figures when _percentiles computes them with the groups'.
ALL = "__all__"


def _rank_conds(k: str, n: str) -> str:
    conds = []
    for num, den in _PCTS.values():
        lo = f"({num} * ({n} - 1)) / {den}"
        # %% is a literal % once Django has put in the parameters.
        hi = f"{lo} + (({num} * ({n} - 1)) %% {den} > 0)"
        conds += [f"{k} = {lo}", f"{k} = {hi}"]
    return " OR ".join(conds)


def _percentiles_sqlite(sql: str, params: tuple, with_overall: bool = False
                        ) -> dict[Any, dict[str, float | None]]:
    """Per group (and, with_overall, over all the rows, under ALL: a second numbering in
    the same pass, for when the groups hold every row)."""
    out: dict[Any, dict[str, float | None]] = defaultdict(dict)
    for m, col in (("contact", "c_at"), ("seen", "s_at")):
        overall = ""
        if with_overall:
            overall = (", ROW_NUMBER() OVER (ORDER BY v) - 1 AS gk, COUNT(*) OVER () AS gn")
        query = (
            f"WITH d AS (SELECT grp, julianday({col}) - julianday(r_at) AS v FROM ({sql}) i "
            f"WHERE {col} IS NOT NULL), "
            f"r AS {'MATERIALIZED ' if with_overall else ''}"
            "(SELECT grp, v, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY v) - 1 AS k, "
            f"COUNT(*) OVER (PARTITION BY grp) AS n{overall} FROM d) "
            f"SELECT grp, n, k, v FROM r WHERE {_rank_conds('k', 'n')}"
        )
        if with_overall:
            query += f" UNION ALL SELECT '{ALL}', gn, gk, v FROM r WHERE {_rank_conds('gk', 'gn')}"
        ranked: dict[Any, dict[int, float]] = defaultdict(dict)
        sizes: dict[Any, int] = {}
        with connection.cursor() as cur:
            cur.execute(query, params)
            for grp, n, k, v in cur.fetchall():
                ranked[grp][k] = v
                sizes[grp] = n
        for grp, values in ranked.items():
            n = sizes[grp]
            for name, (num, den) in _PCTS.items():
                pos = num * (n - 1) / den
                lo = (num * (n - 1)) // den
                hi = lo + (1 if (num * (n - 1)) % den else 0)
                out[grp][f"{m}_{name}"] = values[lo] + (values[hi] - values[lo]) * (pos - lo)
    return out


def _percentiles(f: ReportFilter, by: str, ids: list[Any] | None,
                 with_overall: bool = False) -> dict[Any, dict[str, float | None]]:
    sql, params = _inner(f, by, ids)
    if connection.vendor == "postgresql":
        return _percentiles_postgres(sql, params, with_overall)
    return _percentiles_sqlite(sql, params, with_overall)


_COUNTS = {"received": Count("id"), "contacted": Count("contacted_at"),
           "seen": Count("seen_at")}
# Above this many referrals in the period, by location over whole months, percentiles
# come from the histogram rollup (exact to the bucket) instead of sorting every delay.
EXACT_UP_TO = 20_000


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """A histogram bucket's [low, high) in days (migration 0004: hourly below 2 days,
    daily below 120 days, then one open bucket, read as 120)."""
    if bucket < 48:
        return bucket / 24, (bucket + 1) / 24
    if bucket < 166:
        return float(bucket - 46), float(bucket - 45)
    return 120.0, 120.0


def histogram_percentile(counts: list[tuple[int, int]], num: int, den: int) -> float | None:
    """The percentile at rank num/den * (n - 1) (as percentile_cont counts ranks), read
    from (bucket, count) pairs: the bucket holding that rank, and a uniform spread of its
    values inside it. Exact to the bucket: within an hour below 2 days, a day below 120."""
    n = sum(c for _, c in counts)
    if n <= 0:
        return None
    pos = num * (n - 1) / den
    seen = 0
    for bucket, c in sorted(counts):
        if c <= 0:
            continue
        if pos < seen + c:
            lo, hi = bucket_bounds(bucket)
            return lo + (hi - lo) * (pos - seen + 0.5) / c
        seen += c
    lo, _hi = bucket_bounds(max(b for b, c in counts if c > 0))
    return lo


def _raw_histogram(f: ReportFilter, start: date, end: date
                   ) -> list[tuple[Any, str, int, int]]:
    """(location, measure, bucket, referrals) from the referral table for [start, end],
    bucketed as the histogram's triggers do (migration 0004's expression)."""
    more = _more()
    sql, params = (referrals_in(f, start=start, end=end)
                   .values("location_id", "received_at", "contacted_at", "seen_at")
                   .query.sql_with_params())
    out: list[tuple[Any, str, int, int]] = []
    with connection.cursor() as cur:
        for code, column in (("c", "contacted_at"), ("s", "seen_at")):
            # The bucket expression has strftime('%s'): a literal % once params are in.
            bucket = more._bucket(connection.vendor, column).replace("%", "%%")
            cur.execute(f"SELECT r.location_id, {bucket}, COUNT(*) FROM ({sql}) r "
                        f"WHERE r.{column} IS NOT NULL GROUP BY 1, 2", params)
            out += [(loc, code, b, n) for loc, b, n in cur.fetchall()]
    return out


def _speed_from_histogram(f: ReportFilter, months: tuple[int, int], days: list
                          ) -> tuple[list[dict], dict, dict, dict]:
    """(per-location counts, per-location percentiles, overall percentiles, total counts)
    from the monthly rollup and the speed histogram over `months`, plus or minus the
    referral table's rows for `days` (combined.period_parts): a few thousand rows
    whatever the volume."""
    from refnet.reports.models import SpeedHistogram

    per_loc: dict[Any, dict[str, int]] = defaultdict(
        lambda: {"received": 0, "contacted": 0, "seen": 0})
    for loc, received, contacted, seen in (stats_in(f, months).values("location_id")
                                           .annotate(r=Sum("received"), c=Sum("contacted"),
                                                     s=Sum("seen"))
                                           .values_list("location_id", "r", "c", "s")):
        per_loc[loc] = {"received": received, "contacted": contacted, "seen": seen}
    hist: dict[Any, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))

    def add(loc: Any, measure: str, bucket: int, n: int) -> None:
        for group in (loc, None):
            hist[group][measure][bucket] = hist[group][measure].get(bucket, 0) + n

    for row in (dims_filtered(SpeedHistogram.objects.all(), f, months)
                .values("location_id", "measure", "bucket").annotate(n=Sum("n"))
                .values_list("location_id", "measure", "bucket", "n")):
        add(*row)
    for sign, a, b in days:
        for loc, received, contacted, seen in (referrals_in(f, start=a, end=b)
                                               .values("location_id").annotate(**_COUNTS)
                                               .values_list("location_id", "received",
                                                            "contacted", "seen")):
            cell = per_loc[loc]
            for k, v in (("received", received), ("contacted", contacted), ("seen", seen)):
                cell[k] += sign * v
        for loc, measure, bucket, n in _raw_histogram(f, a, b):
            add(loc, measure, bucket, sign * n)
    counts = sorted(({"grp": loc, **c} for loc, c in per_loc.items() if c["received"] > 0),
                    key=lambda c: (-c["received"], c["grp"]))[:SPEED_TOP]
    totals = {k: sum(c[k] for c in per_loc.values()) for k in ("received", "contacted", "seen")}

    def pcts(group: Any) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for m, code in (("contact", "c"), ("seen", "s")):
            pairs = list(hist[group][code].items())
            for name, (num, den) in _PCTS.items():
                out[f"{m}_{name}"] = histogram_percentile(pairs, num, den)
        return out

    return counts, {c["grp"]: pcts(c["grp"]) for c in counts}, pcts(None), totals


def _histogram_plan(f: ReportFilter, by: str) -> tuple[tuple[int, int], list] | None:
    """(months, edge days) when the speed by location is read from the histogram: more
    than EXACT_UP_TO referrals in the period, no service-line filter, and at least one
    month the rollups can answer whole (combined.period_parts)."""
    if by != "location" or f.service_line_ids:
        return None
    months, days = read_parts(f.start, f.end)
    if months is None:
        return None
    # One round trip: the months' rollup sum plus or minus the edge days' counts.
    sql, params = stats_in(f, months).values("received").query.sql_with_params()
    terms, all_params = [f"(SELECT COALESCE(SUM(s.received), 0) FROM ({sql}) s)"], list(params)
    for sign, a, b in days:
        sql, params = referrals_in(f, start=a, end=b).values("id").query.sql_with_params()
        terms.append(f"{'+' if sign > 0 else '-'} (SELECT COUNT(*) FROM ({sql}) r)")
        all_params += params
    with connection.cursor() as cur:
        cur.execute("SELECT " + " ".join(terms), all_params)
        n = cur.fetchone()[0] or 0
    return (months, days) if n > EXACT_UP_TO else None


def speed(f: ReportFilter, *, user: Any, by: str = "location") -> ReportTable:
    if by not in BY_OPTIONS:
        raise ValidationError({"by": f"Choose one of {', '.join(BY_OPTIONS)}."})
    plan = _histogram_plan(f, by)
    from_histogram = plan is not None
    if plan is not None:
        counts, per_group, overall, total_counts = _speed_from_histogram(f, *plan)
        ids = [c["grp"] for c in counts]
    else:
        counts = list(referrals_in(f).values(grp=F(_GROUP[by])).annotate(**_COUNTS)
                      .order_by("-received", "grp")[:SPEED_TOP])
        ids = [c["grp"] for c in counts]
        # Every group shown (fewer than SPEED_TOP, none of them "no source"): the totals
        # are their sums and the overall percentiles come from the same pass or, with a
        # single group, are its own.
        complete = len(counts) < SPEED_TOP and None not in ids
        per_group = _percentiles(f, by, ids, with_overall=complete
                                 and len(ids) > 1) if ids else {}
        if ALL in per_group:
            overall = per_group.pop(ALL)
        elif complete and len(ids) == 1:
            overall = per_group.get(ids[0], {})
        else:
            overall = _percentiles(f, by, None).get(0, {}) if ids else {}
        total_counts = ({k: sum(c[k] for c in counts) for k in _COUNTS}
                        if len(counts) < SPEED_TOP else referrals_in(f).aggregate(**_COUNTS))
    labels = group_labels(by, ids)
    show_links = may_see_rows(user) and list_exact(f)
    param = "source" if by == "source" else "location"
    rows = []
    for c in counts:
        g = c.pop("grp")
        row = {"group": labels.get(g, str(g)), **c, "_links": {}}
        for m in MEASURES:
            for name in _PCTS:
                row[f"{m}_{name}"] = per_group.get(g, {}).get(f"{m}_{name}")
        if show_links and g is not None:
            row["_links"]["received"] = referral_list_url(f.start, f.end, **{
                **base_params(f), param: g})
        rows.append(row)
    totals = {"group": "All", **{k: v or 0 for k, v in total_counts.items()}}
    for m in MEASURES:
        for name in _PCTS:
            totals[f"{m}_{name}"] = overall.get(f"{m}_{name}")
    what = "Location" if by == "location" else "Source"
    columns = [Column("group", what), Column("received", "Received", "int"),
               Column("contacted", "Contacted", "int"),
               Column("contact_median", "Days to contact: median", "days"),
               Column("contact_p90", "Days to contact: 90th pct", "days"),
               Column("seen", "Seen", "int"),
               Column("seen_median", "Days to visit: median", "days"),
               Column("seen_p90", "Days to visit: 90th pct", "days")]
    shown = rows[:12]
    chart = ChartSpec(kind="bar", title=f"Median days to first contact and visit, by {by}",
                      labels=[r["group"] for r in shown],
                      series=[Series("To contact", [r["contact_median"] for r in shown]),
                              Series("To visit", [r["seen_median"] for r in shown])],
                      unit="days")
    note = ("Referrals received in the period; days from receipt to the first contact and "
            "to the first visit, for those that got there. The 90th percentile: 9 in 10 "
            "were at least this fast.")
    if from_histogram:
        note += (f" Over {EXACT_UP_TO:,} referrals, medians and percentiles are read from "
                 "delays counted in hourly buckets up to 2 days and daily buckets up to 120 "
                 "days: exact to the bucket (within an hour, or a day beyond 2 days).")
    return ReportTable(title=f"Speed by {by}", columns=columns, rows=rows, chart=chart,
                       totals=totals, note=note, filters=f)
