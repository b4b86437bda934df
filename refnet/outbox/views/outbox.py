"""The outbox screens: every message with its status, the dead letters up front, one
message with its delivery attempts, resend and cancel, and the letters print batch.

Content that names a patient (names_patient) is shown only to roles with PATIENTS_VIEW,
and audited when shown; everyone else reads "content hidden: names a patient".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, has_cap, requires

from .. import selectors, services
from ..models import MessageChannel, OutboxMessage, OutboxStatus


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status", required=False,
        choices=[("", "Any status"), *OutboxStatus.choices],
    )
    channel = forms.ChoiceField(
        label="Channel", required=False,
        choices=[("", "Any channel"), *MessageChannel.choices],
    )


def _shown_patient_ids(request: HttpRequest, rows: list[OutboxMessage]) -> list[int]:
    if not has_cap(request.user, Cap.PATIENTS_VIEW):
        return []
    return selectors.patient_ids(rows)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@requires(Cap.OUTBOX_VIEW)
@require_GET
def outbox_list(request: HttpRequest) -> HttpResponse:
    form = OutboxFilterForm(request.GET)
    form.is_valid()  # an unknown value is reported on the page and left out of the filter
    status = form.cleaned_data.get("status", "")
    channel = form.cleaned_data.get("channel", "")
    page = Paginator(selectors.messages_list(status=status, channel=channel),
                     selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    # Dead letters need a person: they head the page unless a filter asks for something else.
    dead = selectors.dead_letters() if not (status or channel) else []
    counts = selectors.status_counts()
    shown = list(page) + dead
    audit_patients(request=request, patient_ids=_shown_patient_ids(request, shown),
                   action=AuditAction.QUERY, what="outbox:list")
    return render(request, "outbox/outbox_list.html", {
        "nav": "outbox",
        "form": form,
        "page": page,
        "dead": dead,
        "dead_total": counts[OutboxStatus.DEAD],
        "counts": [(s, counts[s.value]) for s in OutboxStatus if counts[s.value]],
        "filtered": bool(status or channel),
        "show_patients": has_cap(request.user, Cap.PATIENTS_VIEW),
        "may_manage": has_cap(request.user, Cap.OUTBOX_MANAGE),
        "letters_waiting": selectors.letters_waiting().count(),
    })


@requires(Cap.OUTBOX_VIEW)
@require_GET
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.get_message_for(request.user, pk)
    show_content = not message.names_patient or has_cap(request.user, Cap.PATIENTS_VIEW)
    if message.names_patient and show_content:
        audit_patients(request=request, patient_ids=selectors.patient_ids([message]),
                       action=AuditAction.VIEW, what=f"message:{message.pk}")
    may_manage = has_cap(request.user, Cap.OUTBOX_MANAGE)
    return render(request, "outbox/message_detail.html", {
        "nav": "outbox",
        "message": message,
        "attempts": selectors.message_attempts(message),
        "show_content": show_content,
        "show_referral_link": has_cap(request.user, Cap.REFERRALS_VIEW),
        "may_resend": may_manage and message.status in (OutboxStatus.DEAD,
                                                        OutboxStatus.SUPPRESSED),
        "may_cancel": may_manage and message.status == OutboxStatus.QUEUED,
    })


def _act(request: HttpRequest, pk: int, do: Any, done_text: str) -> HttpResponse:
    message = selectors.get_message_for(request.user, pk)
    try:
        do(message=message, by=request.user)
    except ValidationError as e:
        messages.error(request, "Nothing changed: " + " ".join(e.messages))
    else:
        messages.success(request, done_text.format(pk=message.pk))
    return redirect(_back(request, reverse("outbox:detail", args=[message.pk])))


@requires(Cap.OUTBOX_MANAGE)
@require_POST
def message_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.message_resend,
                "Message #{pk} is back in the queue with a fresh set of attempts.")


@requires(Cap.OUTBOX_MANAGE)
@require_POST
def message_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.message_cancel, "Message #{pk} is cancelled.")


@requires(Cap.OUTBOX_VIEW)
@require_GET
def letters(request: HttpRequest) -> HttpResponse:
    waiting = list(selectors.letters_waiting())
    printed = selectors.letters_printed_recently()
    audit_patients(request=request, patient_ids=_shown_patient_ids(request, waiting + printed),
                   action=AuditAction.QUERY, what="outbox:letters")
    today = timezone.localdate()
    return render(request, "outbox/outbox_letters.html", {
        "nav": "outbox",
        "waiting": waiting,
        "waiting_today": sum(1 for m in waiting
                             if m.sent_at and timezone.localdate(m.sent_at) == today),
        "printed": printed,
        "show_patients": has_cap(request.user, Cap.PATIENTS_VIEW),
        "may_print": has_cap(request.user, Cap.OUTBOX_MANAGE),
    })


@requires(Cap.OUTBOX_MANAGE)
@require_POST
def letters_print(request: HttpRequest) -> HttpResponse:
    """Download one PDF of every letter waiting, and mark them printed."""
    # Read who is named before printing; the batch marks exactly the waiting letters.
    waiting = {m.pk: m for m in selectors.letters_waiting()}
    try:
        pdf = services.letters_print_batch(by=request.user)
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("outbox:letters")
    printed_ids = set(OutboxMessage.objects.filter(pk__in=list(waiting), printed_at__isnull=False)
                      .values_list("pk", flat=True))
    printed = [m for pk, m in waiting.items() if pk in printed_ids]
    audit_patients(request=request, patient_ids=selectors.patient_ids(printed),
                   action=AuditAction.PRINT, what=f"letters:batch:{len(printed)}")
    name = f"letters-{timezone.localdate():%Y-%m-%d}.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
