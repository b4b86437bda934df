"""/api/reports: the figures behind each report, for a period, as JSON. Aggregates only:
the links to patient-level rows that the report pages carry are left out."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from refnet.accounts.permissions import Cap
from refnet.partners.models import BusinessCategory, PartnerKind
from refnet.reports.selectors import REPORTS, ReportFilter

from ..auth import allow
from ..errors import django_errors, field_error, invalid, not_found
from ..models import ApiResource
from ..types import Day, Id, Text
from .common import ERRORS

router = Router(tags=["reports"])
R = ApiResource.REPORTS


class ReportInfo(Schema):
    slug: str
    title: str
    by: list[str] = Field(description="Breakdowns the report offers ('by' parameter).")
    granularities: list[str] = Field(description="Empty: one figure per period.")


class ColumnOut(Schema):
    key: str
    label: str
    kind: str = Field(description="text | int | pct (a share, 0..1) | days | link")


class ReportOut(Schema):
    slug: str
    title: str
    start: date
    end: date
    granularity: str | None
    by: str | None
    columns: list[ColumnOut]
    rows: list[dict[str, Any]] = Field(description="One object per row, keyed by column key; "
                                       "'section' groups rows where the report has sections.")
    totals: dict[str, Any] | None
    note: str


class ReportParams(Schema):
    start: Day
    end: Day
    granularity: str | None = Field(None, pattern="^(day|week|month|quarter)$")
    by: Text(40) | None = None
    location: Id | None = None
    service_line: Id | None = None
    partner_kind: PartnerKind | None = None
    category: BusinessCategory | None = None
    owner: Id | None = Field(None, description="The source partner owner's user id.")


def _info(slug: str) -> dict:
    spec = REPORTS[slug]
    return {"slug": slug, "title": spec.title, "by": list(spec.options.get("by", ())),
            "granularities": list(spec.options.get("granularity", ()))}


def _filter(params: ReportParams, granularity: str | None) -> ReportFilter:
    return ReportFilter(
        start=params.start, end=params.end,
        granularity=granularity or "month",
        location_ids=(params.location,) if params.location else (),
        service_line_ids=(params.service_line,) if params.service_line else (),
        partner_kinds=(params.partner_kind,) if params.partner_kind else (),
        partner_categories=(params.category,) if params.category else (),
        owner_ids=(params.owner,) if params.owner else (),
    )


def _row(row: dict) -> dict:
    out = {k: v for k, v in row.items() if not k.startswith("_")}
    if row.get("_section"):
        out["section"] = row["_section"]
    return out


@router.get("/reports", response={200: list[ReportInfo], **ERRORS}, summary="The reports")
def report_index(request: HttpRequest):
    allow(request, R, write=False, cap=Cap.REPORTS_VIEW)
    return [_info(slug) for slug in REPORTS]


@router.get("/reports/{slug}", response={200: ReportOut, **ERRORS},
            summary="One report's figures for a period")
def report_figures(request: HttpRequest, slug: Text(60), params: Query[ReportParams]):
    allow(request, R, write=False, cap=Cap.REPORTS_VIEW)
    if slug not in REPORTS:
        raise not_found("report")
    info = _info(slug)
    granularity = None
    if info["granularities"]:
        granularity = params.granularity or "month"
        if granularity not in info["granularities"]:
            raise field_error("query.granularity",
                              f"Choose one of {', '.join(info['granularities'])}.")
    by = None
    if info["by"]:
        by = params.by or info["by"][0]
        if by not in info["by"]:
            raise field_error("query.by", f"Choose one of {', '.join(info['by'])}.")
    if params.end < params.start:
        raise field_error("query.end", "The end of the period is before its start.")
    try:
        f = _filter(params, granularity)
    except ValidationError as error:  # e.g. too many days for a daily table
        raise invalid(django_errors(error, prefix="query")) from None
    kwargs: dict[str, Any] = {"user": None}  # no user: no links to patient-level rows
    if by:
        kwargs["by"] = by
    table = REPORTS[slug].function(f, **kwargs)
    return {
        "slug": slug, "title": table.title, "start": f.start, "end": f.end,
        "granularity": granularity, "by": by,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in table.columns],
        "rows": [_row(r) for r in table.rows],
        "totals": _row(table.totals) if table.totals else None,
        "note": table.note,
    }
