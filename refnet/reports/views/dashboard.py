"""/reports/: the dashboard managers and outreach open first thing on Monday.

Every number links to the rows behind it when the person may see those rows: referral
lists for REFERRALS_VIEW, the owner's inbox for FOLLOWUPS_ALL; partner pages for
everyone. Outreach gets plain numbers where a link would lead to patients. The page shows
no patient data, so it writes no audit rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from refnet.accounts.permissions import Cap, has_cap, requires

from .. import dashboard as selectors
from ..forms import DashboardFilterForm, month_end, month_start, today_local


def referral_list_url(month: date, location_id: int | None, **params: Any) -> str:
    """The referral list filtered to what a dashboard number counted."""
    query = {"received_from": month.isoformat(), "received_to": month_end(month).isoformat(),
             **({"location": location_id} if location_id else {}), **params}
    return f"{reverse('referrals:list')}?{urlencode(query)}"


def _stage_link(stage: str, month: date, location_id: int | None) -> str:
    """The rows behind a stage's figure: the month's referrals (received in it, practice
    time) that reached the stage, whatever their status is now, as MonthlyReferralStat
    counts them; "became patients" are those closed won."""
    if stage == "received":
        return referral_list_url(month, location_id)
    if stage == "won":
        return referral_list_url(month, location_id, status="closed_won")
    return referral_list_url(month, location_id, reached=stage)


def _change(now: int, before: int) -> dict[str, Any]:
    """How a figure moved: +12 (+25%), for a badge that reads at a glance."""
    diff = now - before
    pct = round(diff * 100 / before) if before else None
    return {"diff": diff, "pct": pct, "up": diff > 0, "down": diff < 0}


def _trend_chart(board: selectors.Dashboard) -> str:
    from ..charts import ChartSpec, Series, chart_svg

    spec = ChartSpec(
        kind="bar", title="Referrals received per month, last 24 months",
        labels=[f.label for f in board.trend],
        series=[Series("Received", [f.received for f in board.trend]),
                Series("Became patients", [f.won for f in board.trend])],
    )
    return chart_svg(spec)


@requires(Cap.REPORTS_VIEW)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardFilterForm(request.GET)
    form.is_valid()  # a wrong month is shown next to its field; this month is used instead
    today = today_local()
    month = form.chosen_month(today)
    location = form.cleaned_data.get("location")
    location_id = location.pk if location else None
    board = selectors.dashboard(month=month, location_id=location_id)

    user = request.user
    rows_link = has_cap(user, Cap.REFERRALS_VIEW)
    owners_link = has_cap(user, Cap.FOLLOWUPS_ALL)
    compare = [
        (label, figures, figures.month)
        for label, figures in (("This month" if month == month_start(today) else "Month",
                                board.this),
                               ("Month before", board.last),
                               ("Same month last year", board.year_ago))
    ]
    figures_rows = []
    for stage, stage_label in (("received", "Received"), ("seen", "Seen"),
                               ("won", "Became patients")):
        cells = []
        for _, figures, m in compare:
            value = getattr(figures, stage)
            link = None
            link = _stage_link(stage, m, location_id) if rows_link else None
            cells.append({"value": value, "link": link})
        figures_rows.append({
            "label": stage_label, "cells": cells,
            "vs_last": _change(cells[0]["value"], cells[1]["value"]),
            "vs_year": _change(cells[0]["value"], cells[2]["value"]),
        })
    funnel = []
    for stage, label, count, share in board.funnel:
        link = _stage_link(stage, month, location_id) if rows_link else None
        funnel.append({"stage": stage, "label": label, "count": count, "share": share,
                       "width": round((share or 0) * 100), "link": link})
    referrer_link = (lambda pid: referral_list_url(month, location_id, source=pid)) \
        if rows_link else (lambda pid: None)
    inbox = reverse("followups:inbox")
    overdue = [{"name": o.name, "overdue": o.overdue,
                "link": f"{inbox}?who={o.owner_id or 'none'}" if owners_link else None}
               for o in board.overdue_by_owner]
    return render(request, "reports/dashboard.html", {
        "nav": "reports",
        "form": form,
        "board": board,
        "location": location,
        "is_this_month": month == month_start(today),
        "today": today,
        "previous_month": month_start(month, -1).strftime("%Y-%m"),
        "next_month": (month_start(month, 1).strftime("%Y-%m")
                       if month < month_start(today) else None),
        "next_month_label": month_start(month, 1).strftime("%b %Y"),
        "compare": compare,
        "figures_rows": figures_rows,
        "funnel": funnel,
        "chart": _trend_chart(board),
        "top_referrers": [(r, referrer_link(r.partner_id)) for r in board.top_referrers],
        "new_referrers": [(r, referrer_link(r.partner_id)) for r in board.new_referrers],
        "overdue": overdue,
        "inbox_all_link": f"{inbox}?who=all" if owners_link else None,
        "rows_export": _rows_export(month, location_id)
        if has_cap(user, Cap.REPORTS_PATIENT_ROWS) else None,
    })


def _rows_export(month: date, location_id: int | None) -> dict[str, str]:
    """The month's received referrals (the rows behind "Received"), as an audited
    patient-level export: the referrals-over-time report's rows for that month."""
    query = urlencode({"start": month.isoformat(), "end": month_end(month).isoformat(),
                       **({"location": location_id} if location_id else {})})
    url = reverse("reports:rows", args=["referrals-over-time"])
    return {"csv": f"{url}?{query}&format=csv", "xlsx": f"{url}?{query}&format=xlsx"}
