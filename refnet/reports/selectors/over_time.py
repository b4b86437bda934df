"""Referrals over time, broken down by source, kind, category, location, service line or
owner: rows are the period's buckets, columns the biggest groups, the rest and the total.

Month and quarter buckets over whole months read the monthly rollup (a few thousand rows
however many referrals there are), or for the per-source breakdown the per-partner monthly
rollup (unless a service line is filtered: it has no such dimension); day and week
buckets and partial months read the referral table.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from refnet.partners.models import BusinessCategory, Partner, PartnerKind
from refnet.practice.models import Location, ServiceLine
from refnet.reports.charts import ChartSpec, Series

from .base import (
    Column,
    ReportFilter,
    ReportTable,
    base_params,
    bucket_of,
    buckets,
    list_exact,
    may_see_rows,
    partner_rollup_applies,
    partner_stats_in,
    referral_list_url,
    referrals_in,
    stats_in,
    user_label,
)

BY_OPTIONS = ("source", "kind", "category", "location", "service_line", "owner")
TOP_GROUPS = 8  # columns; everything else is summed into "Others"

# Group expression on the referral table, and on the rollup (None: not in the rollup).
_REFERRAL_DIM = {
    "source": "source_partner_id", "kind": "source_partner__kind",
    "category": "source_partner__category", "location": "location_id",
    "service_line": "service_line_id", "owner": "source_partner__owner_id",
}
_STAT_DIM = {
    "source": None, "kind": "partner_kind", "category": "partner_category",
    "location": "location_id", "service_line": "service_line_id", "owner": "owner_id",
}
# The referral list's parameter for a group, where it has one.
_LIST_PARAM = {"source": "source", "location": "location", "service_line": "service_line"}
_TITLES = {"source": "source", "kind": "partner kind", "category": "business category",
           "location": "location", "service_line": "service line", "owner": "owner"}


def _norm(by: str, value: Any) -> Any:
    """The rollup says 0 / "" for "none"; the referral table says NULL."""
    if value in (0, "", None):
        return None
    return value


def group_labels(by: str, keys: list[Any]) -> dict[Any, str]:
    keys = [k for k in keys if k is not None]
    none = {"source": "(unknown source)", "kind": "(unknown source)",
            "category": "(no category)", "location": "(none)",
            "service_line": "(no service line)", "owner": "(no owner)"}[by]
    labels: dict[Any, str] = {None: none}
    if by == "source":
        labels.update(Partner.objects.filter(pk__in=keys).values_list("pk", "name"))
    elif by == "kind":
        labels.update({k: PartnerKind(k).label if k in PartnerKind.values else k for k in keys})
    elif by == "category":
        labels.update({k: BusinessCategory(k).label if k in BusinessCategory.values else k
                       for k in keys})
    elif by == "location":
        labels.update(Location.objects.filter(pk__in=keys).values_list("pk", "name"))
    elif by == "service_line":
        labels.update(ServiceLine.objects.filter(pk__in=keys).values_list("pk", "name"))
    else:
        labels.update({u.pk: user_label(u)
                       for u in get_user_model().objects.filter(pk__in=keys)})
    return labels


def _from_rollup(f: ReportFilter, by: str) -> bool:
    if f.granularity not in ("month", "quarter") or not f.whole_months():
        return False
    if by == "source":  # the per-partner rollup has no service-line dimension
        return partner_rollup_applies(f)
    return True


def _source(f: ReportFilter, by: str) -> tuple[QuerySet, str, str, Any]:
    """(queryset, bucket field, group field, count expression) for this report."""
    if _from_rollup(f, by) and by == "source":
        return partner_stats_in(f), "month", "partner_id", Sum("received")
    if _from_rollup(f, by):
        return stats_in(f), "month", _STAT_DIM[by], Sum("received")
    qs = referrals_in(f)
    if f.granularity in ("month", "quarter"):
        # received_month is the local month, kept with the row: no date arithmetic in SQL.
        return qs, "received_month", _REFERRAL_DIM[by], Count("id")
    tz = timezone.get_current_timezone()
    return qs.annotate(day=TruncDate("received_at", tzinfo=tz)), "day", _REFERRAL_DIM[by], \
        Count("id")


def _to_bucket(f: ReportFilter, value: Any) -> date:
    if isinstance(value, int):
        value = date(value // 100, value % 100, 1)
    return bucket_of(value, f.granularity)


def _counts(f: ReportFilter, by: str) -> tuple[dict[date, int], list[Any], bool,
                                                 dict[tuple[date, Any], int]]:
    """Three grouped SQL queries: the total per bucket, the biggest groups of the period,
    and the biggest groups per bucket. Days and months are folded into weeks and quarters
    here, over aggregated rows (never referral rows)."""
    qs, bucket_field, group_field, measure = _source(f, by)
    totals: dict[date, int] = defaultdict(int)
    for b, n in qs.values(bucket_field).annotate(n=measure).values_list(bucket_field, "n"):
        totals[_to_bucket(f, b)] += n or 0
    ranked = list(qs.values(g=F(group_field)).annotate(n=measure).filter(n__gt=0)
                  .order_by("-n", "g").values_list("g", "n")[:TOP_GROUPS + 1])
    # The rollup says 0 / "" for "none" where the referral table says NULL: one group.
    top: list[Any] = []
    for g, _ in ranked[:TOP_GROUPS]:
        if _norm(by, g) not in top:
            top.append(_norm(by, g))
    others = len(ranked) > TOP_GROUPS
    cells: dict[tuple[date, Any], int] = defaultdict(int)
    if top:
        keys = [g for g in top if g is not None]
        where = Q(**{f"{group_field}__in": keys})
        if None in top:
            text = by in ("kind", "category")
            if _from_rollup(f, by):
                where |= Q(**{group_field: "" if text else 0})
            else:
                where |= Q(**{f"{group_field}__isnull": True})
                if text:
                    where |= Q(**{group_field: ""})
        rows = (qs.filter(where).values(bucket_field, g=F(group_field)).annotate(n=measure)
                .values_list(bucket_field, "g", "n"))
        for b, g, n in rows:
            cells[(_to_bucket(f, b), _norm(by, g))] += n or 0
    return totals, top, others, cells


def referrals_over_time(f: ReportFilter, *, user: Any, by: str = "source") -> ReportTable:
    if by not in BY_OPTIONS:
        from django.core.exceptions import ValidationError

        raise ValidationError({"by": f"Choose one of {', '.join(BY_OPTIONS)}."})
    totals_by_bucket, top, others, cells = _counts(f, by)
    labels = group_labels(by, top)
    keys = {g: f"g{i}" for i, g in enumerate(top)}
    show_links = may_see_rows(user) and list_exact(f)
    columns = [Column("period", "Period")]
    columns += [Column(keys[g], labels.get(g, str(g)), "int") for g in top]
    if others:
        columns.append(Column("others", "Others", "int"))
    columns.append(Column("total", "Total", "int"))

    rows = []
    for b in buckets(f):
        total = totals_by_bucket.get(b.key, 0)
        row: dict[str, Any] = {"period": b.label}
        links: dict[str, str] = {}
        for g in top:
            row[keys[g]] = cells.get((b.key, g), 0)
            if show_links and by in _LIST_PARAM and g is not None and row[keys[g]]:
                links[keys[g]] = referral_list_url(b.start, b.end, **base_params(f),
                                                   **{_LIST_PARAM[by]: g})
        if others:
            row["others"] = total - sum(row[keys[g]] for g in top)
        row["total"] = total
        if show_links and total:
            links["total"] = referral_list_url(b.start, b.end, **base_params(f))
        row["_links"] = links
        rows.append(row)

    totals: dict[str, Any] = {"period": "Total"}
    for c in columns[1:]:
        totals[c.key] = sum(r[c.key] for r in rows)
    series = [Series(labels.get(g, str(g)), [r[keys[g]] for r in rows]) for g in top]
    if others:
        series.append(Series("Others", [r["others"] for r in rows]))
    title = f"Referrals by {_TITLES[by]}"
    chart = ChartSpec(kind="stacked", title=title, labels=[r["period"] for r in rows],
                      series=series, unit="referrals")
    note = ("Counts each referral under its source as it is now (merged duplicates count "
            "under the partner they were merged into).")
    return ReportTable(title=title, columns=columns, rows=rows, chart=chart, totals=totals,
                       note=note, filters=f)
