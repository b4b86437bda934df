"""The front desk's page: "Who can we thank?".

Find or add the patient, find or add the source (or say "don't know"), save. The two
search boxes fetch option lists from patient_search_options and source_search_options
as the user types (static/refnet/intake.js drives them from the keyboard).
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, has_cap, requires
from refnet.partners.models import Partner, PartnerKind
from refnet.partners.search import partners_search

from ..intake_form import IntakeForm
from ..selectors import intake_visit_choices, patients_find, referrals_ask_again
from ..services import referral_record
from .intake_options import patient_options_html, source_options_html

# Where a service's ValidationError key lands on the intake form.
_ERROR_FIELDS = {
    "patient": "patient_query", "source": "source_query", "first_name": "new_first_name",
    "last_name": "new_last_name", "birth_date": "new_birth_date", "email": "new_email",
    "name": "new_source_name", "category": "new_source_category", "kind": "new_source_kind",
    "location": "location", "service_line": "service_line", "received_at": "received_at",
    "reason": "reason", "channel": "channel",
}


def _page(request: HttpRequest, form: IntakeForm | None, status: int = 200,
          **blank: object) -> HttpResponse:
    """The page around the form. `form` is None for a blank form whose fields' HTML was
    found in the cache (blank: blank_form_key, blank_form_html): see _blank_page."""
    ask_again = referrals_ask_again(10)
    audit_patients(request=request, patient_ids=[r.patient_id for r in ask_again],
                   action=AuditAction.QUERY, what="intake:ask-again")
    context = {
        "form": form,
        "nav": "intake",
        "ask_again": ask_again,
        "business_kinds": [PartnerKind.LOCAL_BUSINESS, PartnerKind.COMMUNITY_ORG],
        **blank,
    }
    if form is not None and form.is_bound:
        form.read_choices_once()
        context["chosen_patient"] = _chosen(form, "patient", form.fields["patient"].queryset)
        context["chosen_partner"] = _chosen(form, "source_partner", Partner.objects.all())
    return render(request, "referrals/intake.html", context, status=status)


def _blank_page(request: HttpRequest) -> HttpResponse:
    """The page with a form nobody filled in yet. Its fields' HTML is the same for everyone
    with the same choices, so it is rendered once per process (two dozen widgets are most of
    this busy page's CPU) under a key naming everything it depends on: the location and
    service-line choices (read each time, in one statement, so that a change shows at
    once), the preselected location and whether the reason box is shown. When that HTML is
    cached, no form is built at all."""
    locations, lines = intake_visit_choices()
    location_id = request.user.default_location_id or (locations[0][0] if locations else None)
    empty_line = IntakeForm.base_fields["service_line"].empty_label
    parts = (
        [(str(pk), name) for pk, name in locations],
        [("", empty_line), *((str(pk), name) for pk, name in lines)],
        str(location_id), has_cap(request.user, Cap.CLINICAL_VIEW),
    )
    key = hashlib.sha256(repr(parts).encode()).hexdigest()
    html = cache.get(make_template_fragment_key("intake_blank_form", [key]))
    if html is not None:
        return _page(request, None, blank_form_key=key, blank_form_html=mark_safe(html))
    form = IntakeForm(initial={"location": location_id})
    # The choices just read, as the fields would have listed them (the template's
    # {% cache %} renders and stores the fields under `key`).
    form.fields["location"].choices = locations
    form.fields["service_line"].choices = [("", empty_line), *lines]
    return _page(request, form, blank_form_key=key)


def _chosen(form: IntakeForm, name: str, queryset):
    """The patient or partner the form names: the instance its validation read, else (the
    value did not validate) the row with that id, if any."""
    cleaned = getattr(form, "cleaned_data", {})
    if name in cleaned:
        return cleaned[name]
    return _safe_get(queryset, form[name].value())


def _safe_get(queryset, pk):
    try:
        return queryset.filter(pk=int(pk)).first() if pk else None
    except (TypeError, ValueError):
        return None


@requires(Cap.INTAKE)
def intake(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _blank_page(request)
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
    return HttpResponse(patient_options_html(patients, query.strip()))


def _partners_shown(ids: list[int]) -> dict[int, Partner]:
    """Partner.objects.in_bulk(ids) with only the columns the options show (a partner row
    has some thirty), as SQL: the ORM took longer to build the query than to run it."""
    if not ids:
        return {}
    q = connection.ops.quote_name
    rows = Partner.objects.raw(
        f"SELECT {q('id')}, {q('name')}, {q('kind')}, {q('city')}, {q('patient_id')} "
        f"FROM {q(Partner._meta.db_table)} WHERE {q('id')} IN ({', '.join(['%s'] * len(ids))})",
        ids)
    return {p.pk: p for p in rows}


@requires(Cap.INTAKE)
def source_search_options(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    matches = partners_search(query, limit=8) if query.strip() else []
    partners = _partners_shown([m.partner_id for m in matches])
    rows = [(m, partners[m.partner_id]) for m in matches if m.partner_id in partners]
    # A patient referrer is a patient: showing one is a query of patient data.
    patient_ids = [p.patient_id for _, p in rows if p.patient_id]
    if patient_ids:
        audit_patients(request=request, patient_ids=patient_ids, action=AuditAction.QUERY,
                       what="intake:source-search")
    return HttpResponse(source_options_html(rows, query.strip()))
