"""Per-source figures: conversion through the funnel, and the leaderboard of referrers.

Both group by source partner: over whole months without a service-line filter they read
the per-partner monthly rollup (MonthlyPartnerStat, kept exact by triggers), otherwise
the referral table. The partner is the one the referral points at now, so a duplicate
merged mid-period counts under its survivor (the merge moved its referrals, and the
triggers their counts). Periods that are not whole months (this month so far, the
leaderboard's previous period) read the rollup for their whole months and the referral
table for the days at their edges (combined.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, Sum

from refnet.partners.models import Partner, PartnerKind
from refnet.referrals.models import ReferralStatus
from refnet.reports.charts import ChartSpec, Series

from .base import (
    Column,
    ReportFilter,
    ReportTable,
    base_params,
    list_exact,
    may_see_rows,
    partner_rollup_applies,
    partner_stats_in,
    rate,
    referral_list_url,
    referrals_in,
    stats_in,
    user_label,
)
from .combined import fetch, materialized, partner_sums_sql

CONVERSION_TOP = 50
LEADERBOARD_TOP = 25
STAGES = ("received", "contacted", "scheduled", "seen", "won")

_FUNNEL = {
    "received": Count("id"),
    "contacted": Count("id", filter=Q(contacted_at__isnull=False)),
    "scheduled": Count("id", filter=Q(scheduled_at__isnull=False)),
    "seen": Count("id", filter=Q(seen_at__isnull=False)),
    "won": Count("id", filter=Q(status=ReferralStatus.CLOSED_WON)),
}


_ROLLUP_FUNNEL = {stage: Sum(stage) for stage in STAGES}


def _per_source(f: ReportFilter):
    """(queryset, partner field, funnel aggregates): the per-partner monthly rollup when
    it answers the filter exactly (whole months, no service line), else the referrals.
    The rollup says partner 0 for "no source" where the referral table says NULL."""
    if partner_rollup_applies(f):
        return partner_stats_in(f), "partner_id", _ROLLUP_FUNNEL
    return referrals_in(f), "source_partner_id", _FUNNEL


def _partners(ids: list[int]) -> dict[int, Partner]:
    return {p.pk: p for p in Partner.objects.filter(pk__in=ids).select_related("owner")}


def _kind_label(kind: str) -> str:
    return PartnerKind(kind).label if kind in PartnerKind.values else kind


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    for stage in STAGES[1:]:
        row[f"{stage}_rate"] = rate(row[stage], row["received"])
    return row


def _combined(f: ReportFilter) -> bool:
    """Whether to read whole months from the per-partner rollup and the edge days from the
    referral table (combined.py): periods that are not whole months, no service line."""
    return not f.service_line_ids and not f.whole_months()


def _conversion_figures(f: ReportFilter) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The CONVERSION_TOP sources by received (source_partner_id None: no source) and the
    totals, each {stage: count}."""
    if _combined(f):
        sums, params = partner_sums_sql(f, {"p": (f.start, f.end)}, STAGES)
        cols = ", ".join(f"p_{s}" for s in STAGES)
        total_cols = ", ".join(f"SUM(p_{s})" for s in STAGES)
        sql = (materialized("c", sums)
               + f" SELECT 't', pid, {cols} FROM (SELECT * FROM c WHERE p_received > 0 "
               f"ORDER BY p_received DESC, pid LIMIT {CONVERSION_TOP}) t"
               f" UNION ALL SELECT 's', 0, {total_cols} FROM c")
        top, total = [], dict.fromkeys(STAGES, 0)
        for tag, pid, *values in fetch(sql, params):
            counts = {s: int(v or 0) for s, v in zip(STAGES, values, strict=True)}
            if tag == "s":
                total = counts
            else:
                top.append({"source_partner_id": pid or None, **counts})
        top.sort(key=lambda r: (-r["received"], r["source_partner_id"] or 0))
        return top, total
    qs, field, funnel = _per_source(f)
    top = [{**r, "source_partner_id": r.pop(field) or None}
           for r in qs.values(field).annotate(**funnel).filter(received__gt=0)
           .order_by("-received", field)
           [:CONVERSION_TOP]]
    if field == "partner_id":  # the same totals from the (much smaller) monthly rollup
        return top, stats_in(f).aggregate(**funnel)
    return top, qs.aggregate(**funnel)


def conversion_by_source(f: ReportFilter, *, user: Any) -> ReportTable:
    """Received, contacted, scheduled, seen, won per source (top 50 by received, then all
    others and the total), each stage also as a share of received. A referral counts at a
    stage once it reached it, whatever happened after (contacted_at etc. stay set)."""
    top, total = _conversion_figures(f)
    partners = _partners([r["source_partner_id"] for r in top if r["source_partner_id"]])
    show_links = may_see_rows(user) and list_exact(f)
    rows = []
    for r in top:
        pid = r.pop("source_partner_id")
        p = partners.get(pid)
        row = {"source": p.name if p else "(unknown source)",
               "kind": _kind_label(p.kind) if p else "", **r, "_links": {}}
        if show_links and pid:
            row["_links"]["received"] = referral_list_url(f.start, f.end, **base_params(f),
                                                          source=pid)
        rows.append(_with_rates(row))
    rest = {stage: (total[stage] or 0) - sum(r[stage] for r in rows) for stage in STAGES}
    if rest["received"]:
        rows.append(_with_rates({"source": "All other sources", "kind": "", **rest,
                                 "_links": {}}))
    totals = _with_rates({"source": "Total", "kind": "",
                          **{s: total[s] or 0 for s in STAGES}})
    columns = [Column("source", "Source"), Column("kind", "Kind")]
    for stage in STAGES:
        columns.append(Column(stage, stage.title(), "int"))
        if stage != "received":
            columns.append(Column(f"{stage}_rate", f"% {stage}", "pct"))
    chart = ChartSpec(kind="bar", title="Referral funnel",
                      labels=[s.title() for s in STAGES],
                      series=[Series("Referrals", [totals[s] for s in STAGES])],
                      unit="referrals")
    return ReportTable(title="Conversion by source", columns=columns, rows=rows, chart=chart,
                       totals=totals, filters=f,
                       note="Rates are shares of the referrals received in the period.")


def leaderboard(f: ReportFilter, *, user: Any) -> ReportTable:
    """The top 25 referrers of the period for the recognition program, with the change
    against the equal period before."""
    prev_f = f.previous()
    if _combined(f):
        sums, params = partner_sums_sql(f, {"p": (f.start, f.end)})
        top = [{"source_partner_id": pid, "n": int(n)} for pid, n in fetch(
            f"SELECT pid, p_received FROM ({sums}) s WHERE pid <> 0 AND p_received > 0 "
            f"ORDER BY p_received DESC, pid LIMIT {LEADERBOARD_TOP}", params)]
    else:
        qs, field, _ = _per_source(f)
        measure = Sum("received") if field == "partner_id" else Count("id")
        top = [{"source_partner_id": pid, "n": n} for pid, n in
               qs.exclude(**{field: 0} if field == "partner_id"
                          else {f"{field}__isnull": True})
               .values(field).annotate(n=measure).filter(n__gt=0)
               .order_by("-n", field).values_list(field, "n")[:LEADERBOARD_TOP]]
    ids = [r["source_partner_id"] for r in top]
    if not ids:
        before = {}
    elif f.service_line_ids:
        before = dict(referrals_in(prev_f).filter(source_partner_id__in=ids)
                      .values("source_partner_id").annotate(n=Count("id"))
                      .values_list("source_partner_id", "n"))
    else:  # the rollup for its whole months, the referral table for its edge days
        sums, params = partner_sums_sql(f, {"p": (prev_f.start, prev_f.end)}, partner_ids=ids)
        before = {pid: int(n or 0) for pid, n in fetch(sums, params)}
    partners = _partners(ids)
    show_links = may_see_rows(user) and list_exact(f)
    rows = []
    for rank, r in enumerate(top, start=1):
        pid = r["source_partner_id"]
        p = partners[pid]
        prev = before.get(pid, 0)
        row = {"rank": rank, "partner": p.name, "kind": _kind_label(p.kind),
               "owner": user_label(p.owner) if p.owner_id else "", "referrals": r["n"],
               "previous": prev, "change": r["n"] - prev, "_links": {}}
        if show_links:
            row["_links"]["referrals"] = referral_list_url(f.start, f.end, **base_params(f),
                                                           source=pid)
            if prev:
                row["_links"]["previous"] = referral_list_url(
                    prev_f.start, prev_f.end, **base_params(f), source=pid)
        rows.append(row)
    columns = [Column("rank", "#", "int"), Column("partner", "Referrer"),
               Column("kind", "Kind"), Column("owner", "Owner"),
               Column("referrals", "Referrals", "int"),
               Column("previous", f"Previous ({prev_f.start:%b %d} to {prev_f.end:%b %d})",
                      "int"),
               Column("change", "Change", "int")]
    chart = ChartSpec(kind="bar", title="Top referrers", labels=[r["partner"] for r in rows[:10]],
                      series=[Series("This period", [r["referrals"] for r in rows[:10]]),
                              Series("Previous period", [r["previous"] for r in rows[:10]])],
                      unit="referrals")
    return ReportTable(title="Referrer leaderboard", columns=columns, rows=rows, chart=chart,
                       filters=f)
