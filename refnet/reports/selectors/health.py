"""Partner health (trend per partner, gone quiet, at risk) and loop health (thank-yous and
outcome updates on time, late, missing, by owner)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Q, Window
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind
from refnet.partners.models import Partner
from refnet.reports.charts import ChartSpec, Series
from refnet.reports.quiet import gone_quiet

from .base import (
    Column,
    ReportFilter,
    ReportTable,
    base_params,
    list_exact,
    may_see_rows,
    period_bounds,
    rate,
    referral_list_url,
    user_label,
)
from .combined import fetch, materialized, partner_sums_sql
from .sources import _kind_label

HEALTH_TOP = 50  # partners by volume, besides every gone-quiet and at-risk one
HEALTH_LIST_CAP = 200  # gone quiet / at risk rows shown (the note says how many more)
WINDOW = 90
# At risk: the last 90 days at 60% or less of the 90 before, when those had at least 4.
AT_RISK_RATIO = (3, 5)
AT_RISK_MIN_BEFORE = 4


def _windows(f: ReportFilter) -> dict[str, tuple[date, date]]:
    """The four windows as practice-local days (first, last)."""
    prev = f.previous()
    return {
        "current": (f.start, f.end),
        "previous": (prev.start, prev.end),
        "last90": (f.end - timedelta(days=WINDOW - 1), f.end),
        "before90": (f.end - timedelta(days=2 * WINDOW - 1), f.end - timedelta(days=WINDOW)),
    }


# Read for every partner: the at-risk test needs every partner's last 90 days and the 90
# before, the top list every partner's period. The previous period is read afterwards
# for the partners shown only (through the rollup's (partner, month) index): over a year
# that halves the months read for everyone.
ALL_PARTNER_WINDOWS = ("current", "last90", "before90")


def _health_figures(f: ReportFilter, quiet_ids: list[int]
                    ) -> tuple[int, dict[int, dict], dict[int, dict], dict[int, dict]]:
    """(how many at risk, the first HEALTH_LIST_CAP at risk, the HEALTH_TOP biggest
    referrers of the period, the gone-quiet partners' figures), each {partner id: the four
    windows' counts}. Two statements: the per-partner counts of this period and the two
    90-day windows (whole months from the per-partner rollup, edge days from the
    referral table: see combined.py) computed once and read four ways; then the previous
    period's counts of the partners in those lists."""
    num, den = AT_RISK_RATIO
    windows = _windows(f)
    names = list(ALL_PARTNER_WINDOWS)
    sums, params = partner_sums_sql(f, {n: windows[n] for n in names})
    # Columns current_received etc. (partner_sums_sql's names; "current" is a keyword).
    keep = ", ".join(f"{n}_received" for n in names)
    # last90 <= 60% of before90, compared as last90 * 5 <= before90 * 3: integers, exact.
    risk = (f"before90_received >= {AT_RISK_MIN_BEFORE} "
            f"AND last90_received * {den} <= before90_received * {num}")
    marks = ", ".join(["%s"] * len(quiet_ids))
    sql = (
        materialized("c", f"SELECT pid, {keep} FROM ({sums}) s WHERE pid <> 0")
        + f" SELECT 'r', pid, {keep} FROM (SELECT * FROM c WHERE {risk} "
        f"ORDER BY before90_received DESC, pid LIMIT {HEALTH_LIST_CAP}) r"
        f" UNION ALL SELECT 't', pid, {keep} FROM (SELECT * FROM c WHERE current_received > 0 "
        f"ORDER BY current_received DESC, pid LIMIT {HEALTH_TOP}) t"
        + (f" UNION ALL SELECT 'q', pid, {keep} FROM c WHERE pid IN ({marks})"
           if quiet_ids else "")
        + f" UNION ALL SELECT 'n', COUNT(*), 0, 0, 0 FROM c WHERE {risk}")
    out: dict[str, dict[int, dict]] = {"r": {}, "t": {}, "q": {}}
    n_at_risk = 0
    for tag, pid, *figures in fetch(sql, params + list(quiet_ids)):
        if tag == "n":
            n_at_risk = pid
            continue
        out[tag][pid] = {"source_partner_id": pid, "previous": 0,
                         **{n: int(v or 0) for n, v in zip(names, figures, strict=True)}}
    for pid in quiet_ids:  # quiet: maybe nothing in these windows, something before
        out["q"].setdefault(pid, {"source_partner_id": pid, "previous": 0,
                                  **dict.fromkeys(names, 0)})
    shown = sorted({pid for tag in out.values() for pid in tag})
    if shown:
        sums, params = partner_sums_sql(f, {"previous": windows["previous"]},
                                        partner_ids=shown)
        previous = {pid: int(n or 0) for pid, n in fetch(sums, params)}
        for tag in out.values():
            for pid, figures in tag.items():
                figures["previous"] = previous.get(pid, 0)
    # UNION ALL keeps no order: each list in its own.
    at_risk = dict(sorted(out["r"].items(), key=lambda kv: (-kv[1]["before90"], kv[0])))
    top = dict(sorted(out["t"].items(), key=lambda kv: (-kv[1]["current"], kv[0])))
    return n_at_risk, at_risk, top, out["q"]


def _partner_filter(f: ReportFilter, prefix: str = "") -> Q:
    q = Q()
    if f.partner_kinds:
        q &= Q(**{f"{prefix}kind__in": f.partner_kinds})
    if f.partner_categories:
        q &= Q(**{f"{prefix}category__in": f.partner_categories})
    if f.owner_ids:
        q &= Q(**{f"{prefix}owner_id__in": f.owner_ids})
    return q


def partner_health(f: ReportFilter, *, user: Any) -> ReportTable:
    """One row per partner worth a look: every partner gone quiet (an open re-engage
    follow-up: the rules engine decides, against the partner's own baseline, and its
    summary says why), every partner at risk (falling trend), then the biggest referrers
    of the period; each with this period against the one before and the last 90 days
    against the 90 before."""
    # With a location: partners whose baseline-window referrals went there (quiet.py).
    quiet_qs = gone_quiet(location_ids=f.location_ids).filter(_partner_filter(f, "partner__"))
    # The count rides along (a window over the same rows): one pass, not two.
    listed = list(quiet_qs.annotate(n=Window(Count("id"))).order_by("due_at", "id")
                  .values_list("partner_id", "summary", "n")[:HEALTH_LIST_CAP])
    n_quiet = listed[0][2] if listed else 0
    quiet = {pid: summary for pid, summary, _n in listed}

    n_at_risk, at_risk, top, extra = _health_figures(f, list(quiet))
    figures = {**extra, **top, **at_risk}
    partners = {p.pk: p for p in Partner.objects.filter(
        pk__in=set(figures) | set(quiet)).select_related("owner").only(
        "name", "kind", "owner__first_name", "owner__last_name", "owner__username")}

    prev = f.previous()
    show_links = may_see_rows(user) and list_exact(f)
    rows = []
    order = (list(quiet) + [p for p in at_risk if p not in quiet]
             + [p for p in top if p not in quiet and p not in at_risk])
    zero = {"current": 0, "previous": 0, "last90": 0, "before90": 0}
    for pid in order:
        p = partners.get(pid)
        if p is None:
            continue
        c = figures.get(pid, zero)
        status = "gone quiet" if pid in quiet else "at risk" if pid in at_risk else ""
        why = quiet.get(pid) or (
            f"{c['last90']} in the last {WINDOW} days, down from {c['before90']}"
            if pid in at_risk else "")
        row = {"partner": p.name, "kind": _kind_label(p.kind),
               "owner": user_label(p.owner) if p.owner_id else "",
               "current": c["current"], "previous": c["previous"],
               "change": c["current"] - c["previous"],
               "last90": c["last90"], "before90": c["before90"],
               "trend": (c["last90"] - c["before90"]) / c["before90"] if c["before90"] else None,
               "status": status, "why": why, "_links": {}}
        if show_links and c["current"]:
            row["_links"]["current"] = referral_list_url(f.start, f.end, **base_params(f),
                                                         source=pid)
        if show_links and c["previous"]:
            row["_links"]["previous"] = referral_list_url(prev.start, prev.end,
                                                          **base_params(f), source=pid)
        rows.append(row)
    columns = [Column("partner", "Partner"), Column("kind", "Kind"), Column("owner", "Owner"),
               Column("current", "This period", "int"),
               Column("previous", "Previous period", "int"), Column("change", "Change", "int"),
               Column("last90", f"Last {WINDOW} days", "int"),
               Column("before90", f"{WINDOW} days before", "int"),
               Column("trend", "Trend", "pct"), Column("status", "Status"),
               Column("why", "Why (against their own baseline)")]
    chart_rows = [r for r in rows if r["current"] or r["previous"]][:10]
    chart = ChartSpec(kind="bar", title="Partners: this period and the one before",
                      labels=[r["partner"] for r in chart_rows],
                      series=[Series("This period", [r["current"] for r in chart_rows]),
                              Series("Previous period", [r["previous"] for r in chart_rows])],
                      unit="referrals")
    notes = [f"{n_quiet} gone quiet, {n_at_risk} at risk (the last {WINDOW} days at 60% or "
             f"less of the {WINDOW} before, which had at least {AT_RISK_MIN_BEFORE})."]
    if n_quiet > HEALTH_LIST_CAP or n_at_risk > HEALTH_LIST_CAP:
        notes.append(f"Each list shows its first {HEALTH_LIST_CAP}.")
    return ReportTable(title="Partner health", columns=columns, rows=rows, chart=chart,
                       totals={"partner": "Gone quiet / at risk",
                               "status": f"{n_quiet} / {n_at_risk}"},
                       note=" ".join(notes), filters=f)


LOOP_KINDS = (RuleKind.THANK_REFERRER, RuleKind.OUTCOME_UPDATE)


def loop_health(f: ReportFilter, *, user: Any, now=None) -> ReportTable:
    """Thank-yous and outcome updates whose promised date (original_due_at: snoozing does
    not move the promise) falls in the period, by assignee and kind: done on time (at or
    before it), late (after), missing (skipped, or still open past it), and still open
    but not yet due. Rates are shares of those settled (on time + late + missing)."""
    now = now or timezone.now()
    lo, hi = period_bounds(f.start, f.end)
    qs = FollowUp.objects.filter(kind__in=LOOP_KINDS, original_due_at__gte=lo,
                                 original_due_at__lt=hi).filter(_partner_filter(f, "partner__"))
    if f.location_ids:
        qs = qs.filter(location_id__in=f.location_ids)
    if f.service_line_ids:
        qs = qs.filter(referral__service_line_id__in=f.service_line_ids)
    done = Q(status=FollowUpStatus.DONE)
    # The assignee's name in the same statement (one round trip; the users are few).
    rows_qs = (qs.order_by().values("assignee_id", "kind", "assignee__first_name",
                                    "assignee__last_name", "assignee__username").annotate(
        due=Count("id"),
        on_time=Count("id", filter=done & Q(completed_at__lte=F("original_due_at"))),
        late=Count("id", filter=done & Q(completed_at__gt=F("original_due_at"))),
        missing=Count("id", filter=Q(status=FollowUpStatus.SKIPPED)
                      | Q(status=FollowUpStatus.OPEN, original_due_at__lt=now)),
        pending=Count("id", filter=Q(status=FollowUpStatus.OPEN, original_due_at__gte=now)),
    ).order_by("assignee_id", "kind"))
    data = list(rows_qs)
    kind_label = dict(RuleKind.choices)

    def finish(row: dict[str, Any]) -> dict[str, Any]:
        settled = row["on_time"] + row["late"] + row["missing"]
        row["on_time_rate"] = rate(row["on_time"], settled)
        row["late_rate"] = rate(row["late"], settled)
        row["missing_rate"] = rate(row["missing"], settled)
        return row

    rows = []
    for r in data:
        who = None
        if r["assignee_id"]:  # the label user_label gives: full name, else username
            who = (f"{r['assignee__first_name']} {r['assignee__last_name']}".strip()
                   or r["assignee__username"])
        rows.append(finish({"owner": who or user_label(None), "kind": kind_label[r["kind"]],
                            **{k: r[k] for k in ("due", "on_time", "late", "missing",
                                                 "pending")}, "_links": {}}))
    totals = finish({"owner": "Total", "kind": "",
                     **{k: sum(r[k] for r in rows)
                        for k in ("due", "on_time", "late", "missing", "pending")}})
    columns = [Column("owner", "Assignee"), Column("kind", "Follow-up"),
               Column("due", "Due in period", "int"), Column("on_time", "On time", "int"),
               Column("late", "Late", "int"), Column("missing", "Missing", "int"),
               Column("pending", "Open, not yet due", "int"),
               Column("on_time_rate", "% on time", "pct"), Column("late_rate", "% late", "pct"),
               Column("missing_rate", "% missing", "pct")]
    by_owner: dict[str, dict[str, int]] = {}
    for r in rows:
        agg = by_owner.setdefault(r["owner"], {"on_time": 0, "late": 0, "missing": 0})
        for k in agg:
            agg[k] += r[k]
    names = list(by_owner)
    chart = ChartSpec(kind="stacked", title="Thank-yous and outcome updates by assignee",
                      labels=names,
                      series=[Series("On time", [by_owner[n]["on_time"] for n in names]),
                              Series("Late", [by_owner[n]["late"] for n in names]),
                              Series("Missing", [by_owner[n]["missing"] for n in names])],
                      unit="follow-ups")
    return ReportTable(title="Loop health", columns=columns, rows=rows, chart=chart,
                       totals=totals, filters=f,
                       note="By the date each follow-up was first due (snoozing does not "
                            "move it). Rates are shares of those done, late or missing.")
