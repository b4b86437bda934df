"""/reports/r/: the list of reports, and each report with its filters, chart, table and the
same figures as CSV, XLSX or PDF (?format=csv|xlsx|pdf).

The selectors (reports.selectors.REPORTS) return aggregates only, so outreach may open
every report; a link to patient-level rows ("_links" on a row) is kept only for people
who may open those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from refnet.accounts.permissions import Cap, has_cap, requires

from ..forms import PERIODS, ReportFilterForm, period_dates, today_local

BY_LABELS = {"source": "Source", "kind": "Partner kind", "category": "Category",
             "location": "Location", "service_line": "Service line", "owner": "Owner"}
# The reports whose figures count referrals received in the period matching the filters
# (selectors.base.referrals_in): those referrals are the patient rows behind them
# (views/rows.py). Partner health, loop health and the leaderboard count partners or
# follow-ups, so they offer no such export.
ROW_REPORTS = ("referrals-over-time", "conversion-by-source", "speed", "patient-origin")
EXPORTS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
}


# What each report answers, for the list page (the registry holds only titles).
DESCRIPTIONS = {
    "referrals-over-time": "How many referrals came in, per period, by source, kind, "
                           "category, location, service line or owner.",
    "conversion-by-source": "Of each source's referrals: contacted, scheduled, seen, "
                            "became patients, with rates.",
    "speed": "Days to first contact and to the first visit (median, 90th percentile) by "
             "location or source.",
    "partner-health": "Each partner's trend, who went quiet against their own baseline, "
                      "who is falling.",
    "loop-health": "Thank-yous and outcome updates done on time, late or missing, by owner.",
    "patient-origin": "Patients by distance from each location and by ZIP code.",
    "leaderboard": "Top referrers, for the recognition program.",
}


@dataclass
class ReportEntry:
    slug: str
    title: str
    function: Callable
    by: list[str] = field(default_factory=list)
    granularities: list[str] | None = None
    description: str = ""


def _entry(slug: str, value: Any) -> ReportEntry:
    """Read one REPORTS entry: (title, function, options) where options may name the
    breakdowns ("by") and granularities the report accepts."""
    if isinstance(value, ReportEntry):
        return value
    title, function, *rest = value
    options: Any = rest[0] if rest else {}
    by: list[str] = []
    granularities: list[str] | None = None
    description = ""
    if isinstance(options, dict):
        by = list(options.get("by") or [])
        if "granularity" in options:
            g = options["granularity"]  # the granularities it uses; empty: per period
            granularities = list(g) if isinstance(g, list | tuple) else None
        description = options.get("description", "")
    elif isinstance(options, Iterable) and not isinstance(options, str):
        names = list(options)
        by = [n.split(":", 1)[1] for n in names if n.startswith("by:")]
        if "granularity" not in names and names:
            granularities = []
    return ReportEntry(slug, title, function, by, granularities,
                       description or DESCRIPTIONS.get(slug, ""))


def report_entries() -> dict[str, ReportEntry]:
    from ..selectors import REPORTS

    return {slug: _entry(slug, value) for slug, value in REPORTS.items()}


def _filter(form: ReportFilterForm, entry: ReportEntry):
    """The ReportFilter the form asks for. What ReportFilter itself refuses (too many days
    for a daily table) is reported next to its field, and the default is used instead."""
    from ..selectors import ReportFilter

    try:
        return _filter_from(form, entry, ReportFilter)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
        wrong = set(error.message_dict)
        for name in wrong | ({"start", "end"} if wrong & {"start", "end"} else set()):
            form.cleaned_data.pop(name, None)
        return _filter_from(form, entry, ReportFilter)


def _filter_from(form: ReportFilterForm, entry: ReportEntry, ReportFilter: type):  # noqa: N803
    start, end = form.dates(today_local())
    data = getattr(form, "cleaned_data", {})
    location, service_line = data.get("location"), data.get("service_line")
    owner = data.get("owner") or ""
    granularity = data.get("granularity") or "month"
    if entry.granularities is not None and granularity not in entry.granularities:
        granularity = entry.granularities[0] if entry.granularities else "month"
    return ReportFilter(
        start=start, end=end, granularity=granularity,
        location_ids=(location.pk,) if location else (),
        service_line_ids=(service_line.pk,) if service_line else (),
        partner_kinds=(data["partner_kind"],) if data.get("partner_kind") else (),
        partner_categories=(data["category"],) if data.get("category") else (),
        owner_ids=(int(owner),) if owner.isdigit() else (),
    )


def filters_text(form: ReportFilterForm, f: Any, by: str = "") -> str:
    """The filters in words, for the PDF's header and the page."""
    data = getattr(form, "cleaned_data", {})
    parts = [f"{f.start:%b %-d, %Y} to {f.end:%b %-d, %Y}"]
    if "granularity" in form.fields:
        parts.append(f"by {f.granularity}")
    if by:
        parts.append(f"broken down by {BY_LABELS.get(by, by).lower()}")
    for name in ("location", "service_line", "partner_kind", "category", "owner"):
        if data.get(name) not in (None, ""):
            field_ = form.fields[name]
            value = data[name]
            if hasattr(field_, "choices") and not hasattr(value, "pk"):
                value = dict(field_.choices).get(value, value)
            parts.append(f"{field_.label or name.replace('_', ' ').capitalize()}: {value}")
    return "; ".join(parts)


def _allowed_links(request: HttpRequest, table: Any) -> None:
    """Drop links to rows this person may not open (patient-level referral lists for
    outreach, other people's inboxes for anyone but managers)."""
    referrals = reverse("referrals:list")
    inbox = reverse("followups:inbox")
    may_rows = has_cap(request.user, Cap.REFERRALS_VIEW)
    may_inbox = has_cap(request.user, Cap.FOLLOWUPS_ALL)
    for row in table.rows:
        links = row.get("_links")
        if not links:
            continue
        row["_links"] = {
            key: url for key, url in links.items()
            if not ((url.startswith(referrals) and not may_rows)
                    or (url.startswith(inbox) and not may_inbox))
        }


def _cells(row: dict, columns: list, links: dict | None = None) -> list[dict[str, Any]]:
    """One row as cells the template prints without lookups: text, kind, link."""
    links = links or {}
    return [{"text": c.format(row.get(c.key)), "kind": c.kind, "link": links.get(c.key)}
            for c in columns]


@requires(Cap.REPORTS_VIEW)
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/report.html", {
        "nav": "reports", "entry": None, "entries": list(report_entries().values()),
    })


def _download(table: Any, fmt: str, *, slug: str, f: Any, text: str) -> HttpResponse:
    from ..exports import table_csv, table_pdf, table_xlsx

    content_type, ext = EXPORTS[fmt]
    if fmt == "csv":
        body = table_csv(table)
    elif fmt == "xlsx":
        body = table_xlsx(table)
    else:
        body = table_pdf(table, filters_text=text)
    response = HttpResponse(body, content_type=content_type)
    filename = f"refnet-{slug}-{f.start:%Y-%m-%d}-to-{f.end:%Y-%m-%d}.{ext}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@requires(Cap.REPORTS_VIEW)
@require_GET
def report_detail(request: HttpRequest, slug: str) -> HttpResponse:
    entries = report_entries()
    entry = entries.get(slug)
    if entry is None:
        raise Http404("No such report")
    by_choices = [(b, BY_LABELS.get(b, b.replace("_", " ").capitalize())) for b in entry.by]
    data = request.GET.copy()
    # A bound form shows no initial values: without this the select would read "Day" while
    # the report is by month.
    if not data.get("granularity"):
        data["granularity"] = "month"
    form = ReportFilterForm(data, by_choices=by_choices or None,
                            granularities=entry.granularities)
    form.is_valid()  # wrong fields are reported next to themselves; the rest still apply
    f = _filter(form, entry)
    by = ""
    kwargs: dict[str, Any] = {"user": request.user}
    if entry.by:
        by = form.cleaned_data.get("by") or entry.by[0]
        kwargs["by"] = by
    table = entry.function(f, **kwargs)
    _allowed_links(request, table)
    text = filters_text(form, f, by)

    fmt = request.GET.get("format", "")
    if fmt in EXPORTS:
        return _download(table, fmt, slug=slug, f=f, text=text)

    from ..charts import chart_svg

    query = request.GET.copy()
    query.pop("format", None)
    query.pop("period", None)
    query["start"], query["end"] = f.start.isoformat(), f.end.isoformat()
    downloads = [(label, f"?{query.urlencode()}&format={fmt_}")
                 for fmt_, label in (("csv", "CSV"), ("xlsx", "Excel (XLSX)"), ("pdf", "PDF"))]
    row_exports = []
    if slug in ROW_REPORTS and has_cap(request.user, Cap.REPORTS_PATIENT_ROWS):
        rows_url = reverse("reports:rows", args=[slug])
        row_exports = [(label, f"{rows_url}?{query.urlencode()}&format={fmt_}")
                       for fmt_, label in (("csv", "CSV"), ("xlsx", "XLSX"))]
    today = today_local()
    keep = {k: v for k, v in request.GET.items()
            if k not in ("start", "end", "period", "format") and v}
    presets = []
    for key, label in PERIODS:
        start, end = period_dates(key, today)
        presets.append({"label": label, "url": f"?{urlencode({**keep, 'period': key})}",
                        "current": (start, end) == (f.start, f.end)})
    return render(request, "reports/report.html", {
        "nav": "reports",
        "entry": entry,
        "entries": list(entries.values()),
        "form": form,
        "filter": f,
        "filters_text": text,
        "table": table,
        "cells": [{"section": row.get("_section", ""),
                   "cells": _cells(row, table.columns, row.get("_links"))}
                  for row in table.rows],
        "totals_cells": _cells(table.totals, table.columns) if table.totals else None,
        "errors": [(name, form.fields[name].label or name.capitalize() if name in form.fields
                    else "Filters", errs[0]) for name, errs in form.errors.items()],
        "chart": chart_svg(table.chart) if table.chart else "",
        "downloads": downloads,
        "row_exports": row_exports,
        "presets": presets,
    })
