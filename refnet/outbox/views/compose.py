"""Composing one message: from a follow-up (?followup=<id>) or for a partner
(?partner=<id>&purpose=...&referral=<id>). The page shows who gets it, by which channel,
the audience and why, the rendered text, and one Send button.

A message that names a patient needs PATIENTS_VIEW (others get 404, like any patient page)
and showing it is audited. A do-not-contact or opted-out recipient gets no Send button.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, has_cap, requires
from refnet.followups.models import FollowUpStatus
from refnet.followups.selectors import followup_for
from refnet.partners.models import Contact, Partner
from refnet.referrals.models import Referral

from ..compose import PURPOSE_FOR_KIND, message_send
from ..forms import ComposeForm
from ..models import Audience, MessageChannel, Purpose
from ..rendering import (
    NoAddress,
    audience_for,
    audience_reason,
    default_channel,
    reachable_channels,
    recipient,
    render_message,
)
from ..services import contact_blocked


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for ms in exc.message_dict.values() for m in ms]
    return list(exc.messages)


def _page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, "outbox/compose.html", {"nav": "inbox", **context}, status=status)


def _resolve(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """The follow-up, partner, contact, referral and purpose the request points at (404 for
    ids the user may not use), or {"error": ...}."""
    followup = None
    if data.get("followup"):
        followup = followup_for(request.user, data["followup"])
        partner, referral = followup.partner, followup.referral
        purpose = PURPOSE_FOR_KIND.get(followup.kind)
        if partner is None or purpose is None:
            return {"followup": followup, "error": "This follow-up is not a message to a "
                    "partner: do it from the inbox (call, ask at the front desk) and mark it done."}
    else:
        partner = get_object_or_404(Partner.objects.live(), pk=data["partner"])
        purpose = data["purpose"]
        referral = None
        if data.get("referral"):
            referral = get_object_or_404(
                Referral.objects.select_related("patient", "location", "service_line"),
                pk=data["referral"])
            if referral.source_partner_id != partner.pk:
                return {"followup": None, "error": f"This referral did not come from "
                        f"{partner.name}: a message about it can only go to its source."}
    contact = None
    if data.get("contact"):
        contact = get_object_or_404(Contact, pk=data["contact"], partner=partner)
    return {"followup": followup, "partner": partner, "referral": referral,
            "purpose": purpose, "contact": contact}


@requires(Cap.MESSAGES_SEND)
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    form = ComposeForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return _page(request, {"form": form, "errors": [
            f"{name}: {' '.join(errs)}" if name != "__all__" else " ".join(errs)
            for name, errs in form.errors.items()]}, status=400)
    found = _resolve(request, form.cleaned_data)
    if "error" in found:
        return _page(request, {"form": form, "errors": [found["error"]], **found}, status=400)
    followup, partner, referral = found["followup"], found["partner"], found["referral"]
    purpose, contact = found["purpose"], found["contact"]

    audience = audience_for(partner=partner, referral=referral)
    names_patient = referral is not None and audience != Audience.GENERAL
    if names_patient and not has_cap(request.user, Cap.PATIENTS_VIEW):
        raise Http404  # as for any page with a patient's identity: it does not exist for you
    channels = reachable_channels(partner=partner, contact=contact)
    channel = form.cleaned_data.get("channel") or default_channel(partner=partner,
                                                                  contact=contact)
    context: dict[str, Any] = {
        "form": form, "followup": followup, "partner": partner, "referral": referral,
        "contact": contact, "contacts": list(partner.contacts.all()),
        "purpose": purpose, "purpose_label": Purpose(purpose).label,
        "channel": channel, "channel_label": MessageChannel(channel).label,
        "channel_choices": [(c, MessageChannel(c).label) for c in channels] + (
            [] if channel in channels else
            [(channel, f"{MessageChannel(channel).label} (no address on file)")]),
        "reachable": channels, "audience": audience,
        "audience_reason": audience_reason(partner=partner, referral=referral),
        "names_patient": names_patient, "errors": [],
    }
    if followup is not None and followup.status != FollowUpStatus.OPEN:
        context["errors"].append(f"This follow-up is already "
                                 f"{FollowUpStatus(followup.status).label.lower()}.")
    blocked = None
    if partner.do_not_contact:
        blocked = f"{partner.name} is marked do-not-contact: refnet will not send them anything."
    else:
        try:
            _name, address = recipient(channel=channel, partner=partner, contact=contact)
        except NoAddress:
            address = ""
        if address:
            blocked = contact_blocked(channel=channel, partner=partner, address=address)
    context["blocked"] = blocked

    rendered = None
    try:
        rendered = render_message(purpose=purpose, channel=channel, partner=partner,
                                  contact=contact, referral=referral, sender=request.user)
    except ValidationError as exc:
        context["errors"].extend(_messages(exc))
    context["rendered"] = rendered
    if names_patient:
        audit_patients(request=request, patient_ids=[referral.patient_id],
                       action=AuditAction.VIEW, what=f"outbox:compose {purpose} preview")
    context["may_send"] = rendered is not None and not blocked and not context["errors"]

    if request.method == "POST" and context["may_send"]:
        try:
            message = message_send(
                purpose=purpose, channel=channel, partner=partner, contact=contact,
                referral=referral, by=request.user, followup=followup,
                dedupe_key=f"sent:{followup.key}" if followup else None,
            )
        except ValidationError as exc:
            context["errors"].extend(_messages(exc))
            context["may_send"] = False
        else:
            messages.success(request, f"{message.get_channel_display()} to {message.to_name} "
                                      "queued: it goes out with the next worker run.")
            return redirect("followups:inbox")
    status = 400 if request.method == "POST" else 200
    return _page(request, context, status=status)
