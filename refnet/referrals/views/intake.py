"""The front desk's page: "Who can we thank?".

Find or add the patient, find or add the source (or say "don't know"), save. The two
search boxes fetch option lists from patient_search_options and source_search_options
as the user types (static/refnet/intake.js drives them from the keyboard).
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, has_cap, requires
from refnet.partners.models import Partner, PartnerKind
from refnet.partners.search import partners_search
from refnet.practice.models import Location

from ..intake_form import IntakeForm
from ..selectors import patients_find, referrals_unresolved_source
from ..services import referral_record

# Where a service's ValidationError key lands on the intake form.
_ERROR_FIELDS = {
    "patient": "patient_query", "source": "source_query", "first_name": "new_first_name",
    "last_name": "new_last_name", "birth_date": "new_birth_date", "email": "new_email",
    "name": "new_source_name", "category": "new_source_category", "kind": "new_source_kind",
    "location": "location", "service_line": "service_line", "received_at": "received_at",
    "reason": "reason", "channel": "channel",
}


def _initial(request: HttpRequest) -> dict:
    location_id = request.user.default_location_id or (
        Location.objects.filter(is_active=True).values_list("pk", flat=True).first())
    return {"location": location_id}


def _page(request: HttpRequest, form: IntakeForm, status: int = 200) -> HttpResponse:
    ask_again = list(referrals_unresolved_source()[:10])
    audit_patients(request=request, patient_ids=[r.patient_id for r in ask_again],
                   action=AuditAction.QUERY, what="intake:ask-again")
    chosen_patient = form["patient"].value()
    chosen_partner = form["source_partner"].value()
    form.read_choices_once()
    context = {
        "form": form,
        "blank_form_key": _blank_form_key(request, form),
        "nav": "intake",
        "ask_again": ask_again,
        "chosen_patient": _safe_get(form.fields["patient"].queryset, chosen_patient),
        "chosen_partner": _safe_get(Partner.objects.all(), chosen_partner),
        "business_kinds": [PartnerKind.LOCAL_BUSINESS, PartnerKind.COMMUNITY_ORG],
    }
    return render(request, "referrals/intake.html", context, status=status)


def _blank_form_key(request: HttpRequest, form: IntakeForm) -> str | None:
    """For a form nobody filled in yet: a key naming everything its fields' HTML depends
    on (the location and service-line choices, the preselected location, whether the
    reason box is shown), so that the page renders them once per process, not per request
    (two dozen widgets are most of this busy page's CPU). None for a filled-in form."""
    if form.is_bound:
        return None
    parts = (
        [(str(value), str(label)) for value, label in form.fields["location"].choices],
        [(str(value), str(label)) for value, label in form.fields["service_line"].choices],
        str(form["location"].value()), has_cap(request.user, Cap.CLINICAL_VIEW),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _safe_get(queryset, pk):
    try:
        return queryset.filter(pk=int(pk)).first() if pk else None
    except (TypeError, ValueError):
        return None


@requires(Cap.INTAKE)
def intake(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, IntakeForm(initial=_initial(request)))
    form = IntakeForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=422)
    try:
        # The referral and its audit row in one transaction: one write lock taken once
        # (SQLite), and no referral is ever saved without its row in the audit log.
        with transaction.atomic():
            referral = referral_record(by=request.user, **form.service_kwargs())
            audit_patients(request=request, patient_ids=[referral.patient_id],
                           action=AuditAction.CREATE, what=f"referral:{referral.pk}")
    except ValidationError as error:
        for key, problems in error.message_dict.items():
            field = _ERROR_FIELDS.get(key)
            form.add_error(field if field in form.fields else None, problems)
        return _page(request, form, status=422)
    source = referral.source_partner or "an unknown source (on the ask-again list)"
    messages.success(request, format_html(
        'Saved: {} from {}. <a href="{}">Open referral #{}</a>', referral.patient, source,
        reverse("referrals:detail", args=[referral.pk]), referral.pk,
    ))
    return redirect("referrals:intake")


@requires(Cap.INTAKE)
def patient_search_options(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    patients = patients_find(query) if len(query.strip()) >= 2 else []
    if query.strip():
        audit_patients(request=request, patient_ids=[p.pk for p in patients],
                       action=AuditAction.QUERY, what="intake:patient-search")
    return render(request, "referrals/_intake_patient_options.html",
                  {"patients": patients, "query": query.strip()})


@requires(Cap.INTAKE)
def source_search_options(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    matches = partners_search(query, limit=8) if query.strip() else []
    partners = Partner.objects.in_bulk([m.partner_id for m in matches])
    rows = [(m, partners[m.partner_id]) for m in matches if m.partner_id in partners]
    # A patient referrer is a patient: showing one is a query of patient data.
    patient_ids = [p.patient_id for _, p in rows if p.patient_id]
    if patient_ids:
        audit_patients(request=request, patient_ids=patient_ids, action=AuditAction.QUERY,
                       what="intake:source-search")
    return render(request, "referrals/_intake_source_options.html",
                  {"rows": rows, "query": query.strip()})
