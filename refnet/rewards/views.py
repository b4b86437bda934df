"""/rewards/: log appreciation with a live cap check, the patient referral program, the
caps table and the report. Views parse, check, call a service and render.

Outreach logs rewards too, so these pages never show a patient: a patient referrer
appears under its partner name, referrals only by number (and only to roles that may see
referrals), and the patient's record is never linked.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from refnet.accounts.permissions import Cap, has_cap, requires
from refnet.partners.forms import add_service_errors
from refnet.partners.models import Partner, PartnerKind
from refnet.partners.search import partners_search
from refnet.partners.selectors import get_partner_for
from refnet.reports.exports import neutralize

from . import selectors, services
from .checks import reward_check
from .forms import AppreciationForm, CapForm, SignOffForm
from .models import ComplianceCap

NAV = {"nav": "network", "sub": "rewards"}


def _live_partner(request: HttpRequest, pk: int) -> Partner:
    partner = get_partner_for(request.user, pk)
    while partner.merged_into_id:  # log against the survivor
        partner = get_partner_for(request.user, partner.merged_into_id)
    return partner


def _form(request: HttpRequest, partner: Partner, data: Any = None) -> AppreciationForm:
    initial: dict[str, Any] = {}
    program = selectors.program_current()
    if partner.kind == PartnerKind.PATIENT_REFERRER and program.enabled:
        # The signed-off reward, so the usual case is one click.
        initial = {"description": program.reward_description,
                   "value": program.reward_value}
    return AppreciationForm(data, partner=partner, initial=initial,
                            show_referrals=has_cap(request.user, Cap.REFERRALS_VIEW),
                            may_override=has_cap(request.user, Cap.REWARDS_OVERRIDE))


@requires(Cap.REWARDS_LOG)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    found: list[Partner] = []
    if q:
        ids = [m.partner_id for m in partners_search(q, limit=10)]
        by_id = Partner.objects.live().in_bulk(ids)
        found = [by_id[i] for i in ids if i in by_id]
    return render(request, "rewards/index.html", {
        **NAV, "q": q, "found": found, "recent": selectors.appreciation_recent(),
        "program": selectors.program_current(),
        "show_referrals": has_cap(request.user, Cap.REFERRALS_VIEW),
    })


@requires(Cap.REWARDS_LOG)
@require_http_methods(["GET", "POST"])
def log(request: HttpRequest, pk: int) -> HttpResponse:
    partner = _live_partner(request, pk)
    if partner.pk != pk:
        return redirect("rewards:log", pk=partner.pk)
    form = _form(request, partner, request.POST or None)
    row = None
    decision = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row, decision = services.appreciation_issue(
                partner=partner, kind=data["kind"], description=data["description"],
                value=data["value"], given_on=data["given_on"],
                is_cash_equivalent=data["is_cash_equivalent"], contact=data.get("contact"),
                referral=data.get("referral"), override_reason=data.get("override_reason", ""),
                by=request.user)
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            if row.status == "issued":
                messages.success(request, f"Recorded: {row.get_kind_display().lower()} "
                                          f"worth ${row.value} to {partner.name} "
                                          f"({row.get_decision_display().lower()}).")
                return redirect("rewards:log", pk=partner.pk)
            messages.error(request, "Refused, and the attempt is recorded. Nothing was "
                                    "issued.")
    return render(request, "rewards/log.html", {
        **NAV, "partner": partner, "form": form, "row": row, "decision": decision,
        "year": selectors.partner_year(partner, timezone.localdate()),
        "is_patient_referrer": partner.kind == PartnerKind.PATIENT_REFERRER,
        "program": selectors.program_current(),
        "show_referrals": has_cap(request.user, Cap.REFERRALS_VIEW),
    }, status=400 if form.errors else 200)


@requires(Cap.REWARDS_LOG)
@require_POST
def check(request: HttpRequest, pk: int) -> HttpResponse:
    """The live check beside the form (htmx): within cap, or refused and why."""
    partner = _live_partner(request, pk)
    form = _form(request, partner, request.POST)
    form.is_valid()
    data = form.cleaned_data
    problems = [f"{form.fields[name].label}: {' '.join(errs)}"
                for name, errs in form.errors.items() if name in ("value", "given_on")]
    if not request.POST.get("value", "").strip():
        problems = []  # nothing typed yet: the hint, not an error
    decision = None
    if not problems and "value" in data and "given_on" in data:
        decision = reward_check(partner, data["value"], data.get("kind", "gift"),
                                data.get("is_cash_equivalent", False), data["given_on"])
    return render(request, "rewards/_check.html", {
        "decision": decision, "problems": problems, "partner": partner,
        "override_typed": bool(data.get("override_reason", "").strip()),
    })


# --- the patient referral program ------------------------------------------------------


@requires(Cap.REWARDS_LOG)
@require_GET
def program(request: HttpRequest) -> HttpResponse:
    current = selectors.program_current()
    initial = {"reward_description": current.reward_description,
               "reward_value": current.reward_value}
    return render(request, "rewards/program.html", {
        **NAV, "program": current, "form": SignOffForm(initial=initial),
        "history": selectors.program_history(),
    })


@requires(Cap.COMPLIANCE_EDIT)
@require_POST
def program_enable(request: HttpRequest) -> HttpResponse:
    form = SignOffForm(request.POST)
    if form.is_valid():
        try:
            services.program_enable(**form.cleaned_data, by=request.user)
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, "The patient referral program is on, with your "
                                      "sign-off recorded.")
            return redirect("rewards:program")
    return render(request, "rewards/program.html", {
        **NAV, "program": selectors.program_current(), "form": form,
        "history": selectors.program_history(),
    }, status=400)


@requires(Cap.COMPLIANCE_EDIT)
@require_POST
def program_disable(request: HttpRequest) -> HttpResponse:
    services.program_disable(by=request.user)
    messages.success(request, "The patient referral program is off: rewards to patient "
                              "referrers are refused until it is signed off again.")
    return redirect("rewards:program")


# --- the caps table --------------------------------------------------------------------


@requires(Cap.REWARDS_LOG)
@require_GET
def caps(request: HttpRequest) -> HttpResponse:
    return render(request, "rewards/caps.html", {
        **NAV, "caps": selectors.caps_table(), "today": timezone.localdate(),
    })


def _cap_form_page(request: HttpRequest, cap: ComplianceCap | None) -> HttpResponse:
    form = CapForm(request.POST or None, instance=cap,
                   initial=None if cap else {"reviewed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.cap_save(cap=cap, by=request.user, **form.cleaned_data)
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"Saved: {saved}.")
            return redirect(reverse("rewards:caps") + f"#cap-{saved.pk}")
    history = list(cap.history.select_related("history_user").order_by("-history_date")[:10]
                   ) if cap else []
    return render(request, "rewards/cap_form.html", {
        **NAV, "form": form, "cap": cap, "history": history,
    }, status=400 if form.errors else 200)


@requires(Cap.COMPLIANCE_EDIT)
@require_http_methods(["GET", "POST"])
def cap_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _cap_form_page(request, get_object_or_404(ComplianceCap, pk=pk))


@requires(Cap.COMPLIANCE_EDIT)
@require_http_methods(["GET", "POST"])
def cap_add(request: HttpRequest) -> HttpResponse:
    return _cap_form_page(request, None)


# --- the report ------------------------------------------------------------------------


def _report_params(request: HttpRequest) -> tuple[int, str, list[str]]:
    errors = []
    year = timezone.localdate().year
    raw_year = request.GET.get("year", "").strip()
    if raw_year:
        if raw_year.isdigit() and 2000 <= int(raw_year) <= 2100:
            year = int(raw_year)
        else:
            errors.append(f"Year: “{raw_year}” is not a year; showing {year}.")
    kind = request.GET.get("kind", "").strip()
    if kind and kind not in PartnerKind.values:
        errors.append("Kind: choose one of the listed kinds; showing all.")
        kind = ""
    return year, kind, errors


def _report_rows(request: HttpRequest, year: int, kind: str) -> list:
    """The report's rows. Whether a patient referrer has a cap says whether the patient is
    a Medicare/Medicaid beneficiary: roles that may not see patients get no cap figures
    for patient referrers."""
    rows = selectors.report_rows(year, partner_kind=kind)
    if not has_cap(request.user, Cap.PATIENTS_VIEW):
        for row in rows:
            row.cap_hidden = row.kind == PartnerKind.PATIENT_REFERRER
            if row.cap_hidden:
                row.cap = None
    return rows


@requires(Cap.REWARDS_LOG)
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    year, kind, errors = _report_params(request)
    rows = _report_rows(request, year, kind)
    years = sorted(set(selectors.report_years()) | {year, timezone.localdate().year},
                   reverse=True)
    return render(request, "rewards/report.html", {
        **NAV, "rows": rows, "year": year, "kind": kind, "errors": errors, "years": years,
        "kinds": PartnerKind.choices,
        "total_given": sum((r.given for r in rows), selectors.ZERO),
        "total_refused": sum(r.refused for r in rows),
        "total_overrides": sum(r.overrides for r in rows),
    })


@requires(Cap.REWARDS_LOG)
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    year, kind, _errors = _report_params(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Recipient", "Kind", "Year", "Issued", "Given ($)", "Cap ($)",
                     "Remaining ($)", "Over cap", "Overrides", "Refused attempts",
                     "Refused value ($)"])
    for r in _report_rows(request, year, kind):
        writer.writerow([neutralize(r.name), r.kind_label, year, r.issued, r.given,
                         "" if r.cap is None else r.cap,
                         "" if r.remaining is None else r.remaining,
                         "yes" if r.over_cap else "", r.overrides, r.refused,
                         r.refused_value])
    response = HttpResponse(("\ufeff" + out.getvalue()).encode("utf-8"),
                            content_type="text/csv; charset=utf-8")
    suffix = f"-{kind}" if kind else ""
    response["Content-Disposition"] = (f'attachment; filename="rewards-{year}{suffix}.csv"')
    return response


