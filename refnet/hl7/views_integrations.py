"""Integrations (managers and admins): the HL7 subscribers that get RRI^I12 replies, and
the log of HL7 messages and FHIR requests received, with the raw message of each.

A raw message names a patient (PHI): opening one writes an audit row (VIEW) for the
patient of the referral it made or found, or, for a refused message that names someone
not on file, an audit row without a patient id that says which message was read."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from refnet.accounts.audit import audit_event, audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, requires
from refnet.fhir.models import FhirRequest

from . import selectors
from .forms import LogFilterForm, SubscriberForm
from .models import AckCode, HL7Message, HL7Outgoing, HL7Subscriber
from .services import subscriber_save, subscriber_set_enabled

NAV = "integrations"


def _audit_message(request: HttpRequest, *, patient_id: int | None, names_patient: bool,
                   what: str) -> None:
    if patient_id is not None:
        audit_patients(request=request, patient_ids=[patient_id], action=AuditAction.VIEW,
                       what=what)
    elif names_patient:
        audit_event(request=request, action=AuditAction.VIEW,
                    what=what + " (names a patient not on file)")


@requires(Cap.INTEGRATIONS)
@require_GET
def message_log(request: HttpRequest) -> HttpResponse:
    form = LogFilterForm(request.GET)
    form.is_valid()  # an unknown value is reported on the page and left out of the filter
    data = form.cleaned_data
    kind = data.get("kind") or "hl7"
    common = {"sender": data.get("sender", ""), "since": data.get("since"),
              "until": data.get("until")}
    if kind == "fhir":
        rows = selectors.fhir_log(outcome=data.get("outcome", ""), **common)
    else:
        rows = selectors.hl7_log(ack=data.get("ack", ""), **common)
    page = Paginator(rows.select_related("referral"), selectors.PAGE_SIZE).get_page(
        request.GET.get("page"))
    filtered = any(v for k, v in data.items() if k != "kind")
    return render(request, "integrations/log.html", {
        "nav": NAV, "form": form, "kind": kind, "page": page, "filtered": filtered,
        "ack_counts": _ack_counts() if kind == "hl7" else [],
    })


def _ack_counts() -> list[tuple[str, str, int]]:
    counts = selectors.hl7_ack_counts()
    return [(code, label, counts[code]) for code, label in AckCode.choices if counts.get(code)]


@requires(Cap.INTEGRATIONS)
@require_GET
def hl7_message(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(HL7Message.objects.select_related("referral"), pk=pk)
    names_patient = "\rPID|" in message.raw or "\nPID|" in message.raw
    _audit_message(request, patient_id=message.referral.patient_id if message.referral else
                   None, names_patient=names_patient, what=f"hl7 message:{message.pk}")
    replies = HL7Outgoing.objects.filter(referral_id=message.referral_id).order_by("id") \
        if message.referral_id else []
    return render(request, "integrations/hl7_message.html", {
        "nav": NAV, "message": message, "segments": message.raw.replace("\r", "\n").strip(),
        "ack_segments": message.ack.replace("\r", "\n").strip(), "replies": replies})


@requires(Cap.INTEGRATIONS)
@require_GET
def fhir_request(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(FhirRequest.objects.select_related("referral"), pk=pk)
    _audit_message(request, patient_id=row.referral.patient_id if row.referral else None,
                   names_patient='"subject"' in row.body or '"Patient"' in row.body,
                   what=f"fhir request:{row.pk}")
    return render(request, "integrations/fhir_request.html", {"nav": NAV, "row": row})


@requires(Cap.INTEGRATIONS)
@require_GET
def subscriber_list(request: HttpRequest) -> HttpResponse:
    return render(request, "integrations/subscribers.html", {
        "nav": NAV, "subscribers": selectors.subscribers()})


@requires(Cap.INTEGRATIONS)
@require_http_methods(["GET", "POST"])
def subscriber_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    subscriber = get_object_or_404(HL7Subscriber, pk=pk) if pk is not None else None
    form = SubscriberForm(request.POST or None, instance=subscriber)
    if request.method == "POST" and form.is_valid():
        saved = subscriber_save(form)
        messages.success(request, f"Saved {saved.sending_application}"
                         f"{'^' + saved.sending_facility if saved.sending_facility else ''}.")
        return redirect("integrations:subscribers")
    return render(request, "integrations/subscriber_form.html", {
        "nav": NAV, "form": form, "subscriber": subscriber},
        status=422 if request.method == "POST" else 200)


@requires(Cap.INTEGRATIONS)
@require_POST
def subscriber_enable(request: HttpRequest, pk: int) -> HttpResponse:
    subscriber = get_object_or_404(HL7Subscriber, pk=pk)
    enabled = request.POST.get("enabled") == "1"
    subscriber_set_enabled(subscriber, enabled)
    messages.success(request, f"{subscriber.sending_application}: replies "
                     f"{'on' if enabled else 'off'}.")
    return redirect("integrations:subscribers")
