"""Writes to patients and referrals. Each function is one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from refnet.accounts.models import User
from refnet.partners.models import Contact, Partner
from refnet.partners.selectors import partner_survivor
from refnet.partners.services import partner_create
from refnet.practice.models import Location, ServiceLine
from refnet.reports.rollup import local_month, stamp_stage_times

from .models import (
    CLOSED_STATUSES,
    TRANSITIONS,
    ArrivalChannel,
    Outcome,
    Patient,
    Referral,
    ReferralEvent,
    ReferralRemoval,
    ReferralStatus,
    SourceStatus,
    Visit,
    VisitKind,
)


class TransitionError(ValidationError):
    pass


def _live_for_update(referral: Referral) -> Referral:
    """The referral re-read under a row lock; a removed one is refused: nothing moves,
    resolves or visits on a referral that was entered by mistake."""
    locked = Referral.all_objects.select_for_update().get(pk=referral.pk)
    if locked.removed_at is not None:
        raise ValidationError({"removed": "This referral was removed. Restore it first "
                                          "to work on it."})
    return locked


@transaction.atomic
def patient_create(*, by: User | None, **fields: Any) -> Patient:
    patient = Patient(**fields)
    if patient.may_thank_referrer and not patient.may_thank_referrer_at:
        patient.may_thank_referrer_at = timezone.now()
    patient.full_clean(exclude=["last_name_key", "first_name_key", "phone_digits"])
    patient._history_user = by
    patient.save()
    return patient


@transaction.atomic
def referral_record(
    *,
    patient: Patient | None = None,
    new_patient: dict[str, Any] | None = None,
    source_partner: Partner | None = None,
    source_contact: Contact | None = None,
    new_source: dict[str, Any] | None = None,
    source_unknown: bool = False,
    source_text: str = "",
    location: Location,
    service_line: ServiceLine | None = None,
    channel: str = ArrivalChannel.FRONT_DESK,
    received_at: datetime | None = None,
    reason: str = "",
    diagnosis: str = "",
    priority: str = "routine",
    by: User | None,
) -> Referral:
    """Record one incoming referral, with the patient and the source it names.

    One transaction: a new patient or a new source made inline are saved with the referral
    or not at all. Exactly one way to say the source is required: an existing partner, a new
    one, or "don't know" (saved as unresolved, which puts it on the ask-again list).
    """
    given = sum([source_partner is not None, new_source is not None, source_unknown])
    if given != 1:
        raise ValidationError({"source": "Choose who referred this patient, add a new source, "
                                         "or mark it \"don't know\" to ask again later."})
    if (patient is None) == (new_patient is None):
        raise ValidationError({"patient": "Choose a patient or enter a new one."})
    if patient is None:
        patient = patient_create(by=by, **new_patient)
    if new_source is not None:
        source_partner = partner_create(by=by, **new_source)
    if source_contact is not None and (
        source_partner is None or source_contact.partner_id != source_partner.pk
    ):
        raise ValidationError({"source": "That contact does not work at the chosen source."})
    if source_partner is not None:
        source_partner = partner_survivor(source_partner)

    now = timezone.now()
    referral = Referral(
        patient=patient,
        source_partner=source_partner,
        source_contact=source_contact,
        source_status=SourceStatus.UNRESOLVED if source_unknown else SourceStatus.KNOWN,
        source_text=source_text.strip(),
        location=location,
        service_line=service_line,
        channel=channel,
        received_at=received_at or now,
        received_month=local_month(received_at or now),  # what the monthly reports count
        status=ReferralStatus.RECEIVED,
        status_changed_at=now,
        reason=reason,
        diagnosis=diagnosis,
        priority=priority,
        created_by=by,
    )
    # The related rows are instances read or made just now: checking that each exists
    # would cost a query apiece inside the write transaction (the foreign keys hold anyway).
    referral.full_clean(exclude=["patient", "source_partner", "source_contact", "location",
                                 "service_line", "created_by"])
    referral._history_user = by
    referral.save()
    ReferralEvent.objects.create(
        referral=referral, at=now, by=by, to_status=ReferralStatus.RECEIVED,
        note=f"Recorded ({referral.get_channel_display()})"
        + ("; source unknown, ask again" if source_unknown else ""),
    )
    # The follow-up rules (thank-you, ask again) in this same transaction.
    from refnet.followups.rules import on_referral_recorded

    on_referral_recorded(referral, by=by, now=now)
    return referral


@transaction.atomic
def referral_transition(
    *, referral: Referral, to_status: str, by: User | None, note: str = "", outcome: str = "",
    expected_status: str | None = None,
) -> Referral:
    """Move a referral along its allowed path and write the event to its timeline.

    `expected_status` is the status the user saw: if someone moved the referral since, the
    move is refused rather than applied on top (a stale "contacted" must not undo a booking).
    """
    if to_status not in ReferralStatus.values:
        raise TransitionError(f"Unknown status {to_status!r}.")
    # Re-read under a row lock: two coordinators clicking at once must not both "win".
    referral = _live_for_update(referral)
    if expected_status is not None and referral.status != expected_status:
        raise TransitionError(
            f"This referral is now {referral.get_status_display().lower()}: someone moved it "
            "after you opened the page. Check the timeline and try again."
        )
    if to_status not in TRANSITIONS[referral.status]:
        raise TransitionError(
            f"A referral that is {referral.get_status_display().lower()} cannot move to "
            f"{ReferralStatus(to_status).label.lower()}."
        )
    if outcome and outcome not in Outcome.values:
        raise ValidationError({"outcome": f"Unknown outcome {outcome!r}."})
    if outcome and to_status not in CLOSED_STATUSES:
        raise ValidationError({"outcome": "An outcome is recorded when a referral closes."})
    if to_status == ReferralStatus.CLOSED_WON:
        if outcome not in ("", Outcome.BECAME_PATIENT):
            raise ValidationError({"outcome": "A referral that became a patient closes as won."})
        outcome = Outcome.BECAME_PATIENT
    if to_status == ReferralStatus.CLOSED_LOST:
        if not outcome:
            raise ValidationError({"outcome": "Say why the referral closed without a visit."})
        if outcome == Outcome.BECAME_PATIENT:
            raise ValidationError({"outcome": "Use \"closed: became a patient\" for that."})
    now = timezone.now()
    ReferralEvent.objects.create(
        referral=referral, at=now, by=by, from_status=referral.status, to_status=to_status,
        note=note[:500],
    )
    referral.status = to_status
    referral.status_changed_at = now
    stamp_stage_times(referral, to_status=to_status, at=now)  # first time at each stage
    if outcome:
        referral.outcome = outcome
    referral._history_user = by
    referral.save()
    from refnet.followups.rules import on_referral_transition

    on_referral_transition(referral, to_status=to_status, by=by, now=now)
    return referral


@transaction.atomic
def referral_resolve_source(
    *, referral: Referral, partner: Partner, contact: Contact | None = None, by: User | None
) -> Referral:
    """Answer the ask-again to-do: record who the source was. The first answer stands."""
    if contact is not None and contact.partner_id != partner.pk:
        raise ValidationError({"source": "That contact does not work at the chosen source."})
    partner = partner_survivor(partner)
    referral = _live_for_update(referral)
    if referral.source_status != SourceStatus.UNRESOLVED:
        raise ValidationError({"source": "Nothing changed: the source was already recorded as "
                                         f"{referral.source_partner}."})
    referral.source_partner = partner
    referral.source_contact = contact
    referral.source_status = SourceStatus.KNOWN
    referral._history_user = by
    referral.save()
    now = timezone.now()
    # "Source recorded:" is how the incremental rule pass recognises this event.
    ReferralEvent.objects.create(
        referral=referral, at=now, by=by, note=f"Source recorded: {partner.name}"
    )
    from refnet.followups.rules import on_source_resolved

    on_source_resolved(referral, by=by, now=now)
    return referral


# Where a visit may be recorded: the patient came (seen), or became a patient and is under
# care (closed: won). Before that there is nobody to visit; after "did not come", no visit.
VISIT_STATUSES = (ReferralStatus.SEEN, ReferralStatus.CLOSED_WON)


@transaction.atomic
def visit_record(*, referral: Referral, at: datetime, kind: str, by: User | None,
                 note: str = "") -> Visit:
    """Record a visit of the referred patient; progress-report rules run in the same
    transaction. Refused before the patient was seen, in the future, or after discharge."""
    if kind not in VisitKind.values:
        raise ValidationError({"kind": f"Unknown kind of visit {kind!r}."})
    referral = _live_for_update(referral)
    if referral.status not in VISIT_STATUSES:
        status = referral.get_status_display().lower()
        raise ValidationError({"status": "Visits are recorded once the patient was seen; "
                                         f"this referral is {status}."})
    if at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"at": "A visit cannot be in the future."})
    if Visit.objects.filter(referral=referral, kind=VisitKind.DISCHARGE).exists():
        raise ValidationError({"kind": "This patient was already discharged: no visit after "
                                       "the discharge."})
    visit = Visit(referral=referral, at=at, kind=kind, by=by, note=note[:300])
    visit.full_clean()
    visit.save()
    from refnet.followups.rules import on_visit_recorded

    on_visit_recorded(visit, by=by)
    return visit


# --- Remove and restore ----------------------------------------------------------------

# Outbox messages that have not gone out and can still be withdrawn. One being sent at
# this moment ("sending") cannot be called back; the worker cancels it if it has not
# reached the provider yet (outbox.worker checks removed referrals before sending).
UNSENT = ("queued", "dead", "suppressed")


@transaction.atomic
def referral_remove(*, referral: Referral, by: User | None, reason: str) -> ReferralRemoval:
    """Take a referral entered by mistake (a duplicate, the wrong patient, a test entry)
    out of use without deleting it.

    1. Lock the row; refuse without a reason, or if it is already removed.
    2. Set removed_at (a history row says who and why) and record the removal (who, when,
       why) and a line on its timeline. The rollup triggers subtract it from every
       report table in this same transaction (reports migration 0006).
    3. Skip its open follow-ups (thank-you, outcome update, ask again...) with the reason,
       and cancel its messages that have not gone out: nobody is thanked for a referral
       that never was.
    Restorable with referral_restore; what step 3 stopped stays stopped.
    """
    from refnet.followups.models import FollowUp, FollowUpStatus
    from refnet.outbox.models import OutboxMessage, OutboxStatus

    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError({"reason": "Say why this referral is removed (a duplicate of "
                                         "#…, the wrong patient, a test entry)."})
    referral = Referral.all_objects.select_for_update().get(pk=referral.pk)
    if referral.removed_at is not None:
        raise ValidationError({"removed": "This referral was already removed."})
    now = timezone.now()
    referral.removed_at = now
    referral._history_user = by
    referral._change_reason = f"removed: {reason}"[:100]
    referral.save()
    ReferralEvent.objects.create(referral=referral, at=now, by=by,
                                 note=f"Removed: {reason}"[:500])

    skipped = 0
    for followup in FollowUp.objects.filter(referral=referral, status=FollowUpStatus.OPEN):
        followup.status = FollowUpStatus.SKIPPED
        followup.skip_reason = f"referral removed: {reason}"[:300]
        followup.completed_at, followup.completed_by = now, by
        followup._history_user = by
        followup.save()
        skipped += 1
    cancelled = OutboxMessage.objects.filter(referral=referral, status__in=UNSENT).update(
        status=OutboxStatus.CANCELLED, lease_until=None,
        last_error=f"Not sent: referral #{referral.pk} was removed ({reason})"[:4000])
    return ReferralRemoval.objects.create(
        referral=referral, removed_at=now, removed_by=by, reason=reason[:300],
        followups_skipped=skipped, messages_cancelled=cancelled)


@transaction.atomic
def referral_restore(*, referral: Referral, by: User | None) -> Referral:
    """Bring a removed referral back as it was: in the lists, the board and every report
    again (the triggers add it back). The follow-ups skipped and the messages cancelled
    when it was removed stay so: the rules do not plan them again (their keys exist), and
    a thank-you still wanted is sent from the referral's page."""
    referral = Referral.all_objects.select_for_update().get(pk=referral.pk)
    if referral.removed_at is None:
        raise ValidationError({"removed": "This referral is not removed."})
    now = timezone.now()
    referral.removed_at = None
    referral._history_user = by
    referral._change_reason = "restored"
    referral.save()
    ReferralRemoval.objects.filter(referral=referral, restored_at__isnull=True).update(
        restored_at=now, restored_by=by)
    ReferralEvent.objects.create(referral=referral, at=now, by=by, note="Restored")
    return referral
