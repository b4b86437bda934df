"""Removing a referral entered by mistake (a duplicate, the wrong patient, a test entry),
the page of removed referrals, and restoring one. Managers and admins only
(Cap.REFERRALS_REMOVE); nothing is deleted. Each removal, restore and view of the list is
on the patient-data audit trail."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, requires

from .. import selectors, services


@requires(Cap.REFERRALS_REMOVE)
@require_GET
def referral_removed_list(request: HttpRequest) -> HttpResponse:
    """Removed referrals, newest removal first: who, when, why; each opens its page,
    where it can be restored."""
    removals = selectors.referrals_removed()
    audit_patients(request=request, patient_ids=[r.referral.patient_id for r in removals],
                   action=AuditAction.QUERY, what="referrals:removed")
    return render(request, "referrals/removed.html", {"nav": "referrals", "rows": removals})


@requires(Cap.REFERRALS_REMOVE)
@require_POST
def referral_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.get_referral_for(request.user, pk)
    try:
        removal = services.referral_remove(referral=referral, by=request.user,
                                           reason=request.POST.get("reason", ""))
    except ValidationError as e:
        messages.error(request, "Nothing changed: " + " ".join(e.messages))
    else:
        audit_patients(request=request, patient_ids=[referral.patient_id],
                       action=AuditAction.DELETE, what=f"referral:{referral.pk}:remove")
        stopped = []
        if removal.followups_skipped:
            stopped.append(f"{removal.followups_skipped} follow-up(s) skipped")
        if removal.messages_cancelled:
            stopped.append(f"{removal.messages_cancelled} unsent message(s) cancelled")
        messages.success(request, f"Removed referral #{referral.pk}"
                         + (f" ({', '.join(stopped)})" if stopped else "")
                         + ". It stays under Referrals → Removed and can be restored.")
    return redirect("referrals:detail", pk=referral.pk)


@requires(Cap.REFERRALS_REMOVE)
@require_POST
def referral_restore_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.get_referral_for(request.user, pk, removed_too=True)
    try:
        services.referral_restore(referral=referral, by=request.user)
    except ValidationError as e:
        messages.error(request, "Nothing changed: " + " ".join(e.messages))
    else:
        audit_patients(request=request, patient_ids=[referral.patient_id],
                       action=AuditAction.UPDATE, what=f"referral:{referral.pk}:restore")
        messages.success(request, f"Restored referral #{referral.pk}. Follow-ups skipped and "
                                  "messages cancelled when it was removed stay so.")
    return redirect("referrals:detail", pk=referral.pk)
