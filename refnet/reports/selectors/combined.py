"""Per-partner sums over any period: whole months from the per-partner rollup
(MonthlyPartnerTotal, or MonthlyPartnerStat with a location filter), the days at the edges
from the referral table, in one grouped query.

A period's edge month that is only partly in it is read one of two ways, whichever touches
fewer days of referrals: its days in the period from the referral table, or the whole month
from the rollup minus the month's other days from the referral table. Days after today
hold no referrals yet, so "this month so far" is the month's rollup row minus nothing
worth reading. Both sides count by practice-local day (the rollup's month is the local
month), so the sum is exact. With a service-line filter (the rollup has no such
dimension) every day comes from the referral table.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from refnet.referrals.models import Referral, ReferralStatus

from .base import (
    ReportFilter,
    _month_start,
    _next_month,
    _partner_dims,
    apply_referral_filters,
    month_key,
    partner_rollup_model,
    period_bounds,
)

DayRange = tuple[int, date, date]  # sign (+1 add, -1 subtract), first day, last day


def _month_end(d: date) -> date:
    return _next_month(d) - timedelta(days=1)


def _cost(a: date, b: date, today: date) -> int:
    """Days of [a, b] that may hold referrals (up to today)."""
    return max(0, (min(b, today) - a).days + 1)


def period_parts(start: date, end: date, *, today: date | None = None
                 ) -> tuple[tuple[int, int] | None, list[DayRange]]:
    """[start, end] as a range of whole months (YYYYMM, inclusive; None if none) plus
    signed local-day ranges: the sum over the months, plus the + ranges, minus the -
    ranges, counts exactly the referrals received in [start, end]."""
    today = today or timezone.localdate()
    first, last = _month_start(start), _month_start(end)
    days: list[DayRange] = []
    lo, hi = first, last  # the months taken whole (hi inclusive), when lo <= hi

    def edge(month: date, a: date, b: date) -> bool:
        """Whether `month` (partly covered by [a, b]) is taken whole from the rollup."""
        outside = [(x, y) for x, y in ((month, a - timedelta(days=1)),
                                       (b + timedelta(days=1), _month_end(month)))
                   if x <= y]
        if not outside:
            return True
        if sum(_cost(x, y, today) for x, y in outside) < _cost(a, b, today):
            days.extend((-1, x, y) for x, y in outside)
            return True
        days.append((1, a, b))
        return False

    if first == last:
        if not edge(first, start, end):
            return None, days
        return (month_key(first), month_key(first)), days
    if not edge(first, start, _month_end(first)):
        lo = _next_month(first)
    if not edge(last, last, end):
        hi = _month_start(last - timedelta(days=1))
    if lo > hi:
        return None, days
    return (month_key(lo), month_key(hi)), days


def read_parts(start: date, end: date, *, today: date | None = None
               ) -> tuple[tuple[int, int] | None, list[DayRange]]:
    """period_parts, less the day ranges after today when no referral was received after
    today (one indexed probe): "this month so far" is then the month's rollup rows alone.
    Exact either way; it spares querying an empty range, which with a partner filter
    SQLite may plan as a walk over the partners rather than the dates."""
    today = today or timezone.localdate()
    months, days = period_parts(start, end, today=today)
    if any(a > today for _, a, _ in days):
        tomorrow = period_bounds(today + timedelta(days=1), today + timedelta(days=1))[0]
        if not Referral.objects.filter(received_at__gte=tomorrow).exists():
            days = [(sign, a, b) for sign, a, b in days if a <= today]
    return months, days


# What each measure counts in the referral table, and its rollup column.
_RAW = {
    "received": Q(),
    "contacted": Q(contacted_at__isnull=False),
    "scheduled": Q(scheduled_at__isnull=False),
    "seen": Q(seen_at__isnull=False),
    "won": Q(status=ReferralStatus.CLOSED_WON),
}


def disjoint_spans(spans: set[tuple[date, date]]) -> list[tuple[date, date]]:
    """Runs of days (first, last, inclusive) merged where they overlap or touch."""
    merged: list[tuple[date, date]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _day_q(a: date, b: date) -> Q:
    lo, hi = period_bounds(a, b)
    return Q(received_at__gte=lo, received_at__lt=hi)


def partner_sums_sql(f: ReportFilter, windows: dict[str, tuple[date, date]],
                     measures: tuple[str, ...] = ("received",), *, today: date | None = None,
                     partner_ids: list[int] | None = None) -> tuple[str, list]:
    """SQL (and its parameters) of one row per source partner (pid; 0: no source) with a
    column `<window>_<measure>` per window and measure: the referrals received in the
    window (matching f's location, service line and partner filters, not its dates) that
    reached the measure's stage. Partners with no referral in any window are absent;
    with partner_ids, only those partners."""
    rollup = not f.service_line_ids
    plans = {}
    for name, (a, b) in windows.items():
        plans[name] = read_parts(a, b, today=today) if rollup else (None, [(1, a, b)])
    cols = [f"{w}_{m}" for w in windows for m in measures]
    parts: list[tuple[str, list]] = []

    month_ranges = [m for m, _ in plans.values() if m]
    if month_ranges:
        qs = partner_rollup_model(f).objects.filter(
            month__gte=min(m[0] for m in month_ranges),
            month__lte=max(m[1] for m in month_ranges), **_partner_dims(f))
        if f.location_ids:
            qs = qs.filter(location_id__in=f.location_ids)
        if partner_ids is not None:
            qs = qs.filter(partner_id__in=partner_ids)
        values = {}
        for w, (months, _) in plans.items():
            a, b = months or (1, 0)  # no month: a range that holds none
            for m in measures:
                values[f"{w}_{m}"] = Case(When(month__gte=a, month__lte=b, then=F(m)),
                                          default=Value(0), output_field=IntegerField())
        # Rows, not groups: the one GROUP BY is the outer one (a second level of grouping
        # over tens of thousands of partners cost more than the rows it saved).
        qs = qs.order_by().values(pid=F("partner_id"), **values)
        parts.append(qs.query.sql_with_params())

    values = {}
    for w, (_, ranges) in plans.items():
        for m in measures:
            whens = [When(_day_q(a, b) & _RAW[m], then=Value(sign)) for sign, a, b in ranges]
            values[f"{w}_{m}"] = (Case(*whens, default=Value(0), output_field=IntegerField())
                                  if whens else Value(0, output_field=IntegerField()))
    # The edge days: one SELECT per run of days, not one SELECT with the runs OR-ed. Each
    # is then a range on received_at that the live-referral indexes answer, with or
    # without a location ((location_id, received_at)); OR-ed, SQLite read every referral
    # of the location (667,000 at 2,000,000) to find a few weeks of them. Runs that
    # overlap or touch are merged first, so that no referral is read twice.
    for a, b in disjoint_spans({(a, b) for _, ranges in plans.values() for _, a, b in ranges}):
        qs = apply_referral_filters(Referral.objects.filter(_day_q(a, b)), f)
        if partner_ids is not None:
            qs = qs.filter(source_partner_id__in=partner_ids)
        qs = qs.order_by().values(pid=Coalesce("source_partner_id", Value(0)), **values)
        parts.append(qs.query.sql_with_params())

    if not parts:  # cannot happen for a non-empty window; kept total for safety
        return "SELECT 0 AS pid, " + ", ".join(f"0 AS {c}" for c in cols) + " WHERE 1 = 0", []
    qn = connection.ops.quote_name
    union = " UNION ALL ".join(sql for sql, _ in parts)
    params = [p for _, ps in parts for p in ps]
    sums = ", ".join(f"SUM(u.{qn(c)}) AS {qn(c)}" for c in cols)
    pid = qn("pid")
    return f"SELECT u.{pid} AS {pid}, {sums} FROM ({union}) u GROUP BY u.{pid}", params


def materialized(name: str, sql: str) -> str:
    """A CTE computed once even when read several times (SQLite 3.35+, PostgreSQL 12+)."""
    return f"WITH {name} AS MATERIALIZED ({sql})"


def fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()
