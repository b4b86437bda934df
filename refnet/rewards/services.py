"""Writes: issuing (or refusing) appreciation, the referral program, the caps table.
Each function is one transaction; refused attempts are recorded too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from refnet.accounts.models import User
from refnet.accounts.permissions import Cap, has_cap
from refnet.partners.models import Contact, Partner, PartnerKind
from refnet.referrals.models import Patient, Referral

from .checks import BUSINESS, Decision, reward_check
from .defaults import DEFAULT_CAPS, DEFAULTS_REVIEWED_ON
from .models import (
    Appreciation,
    AppreciationStatus,
    ComplianceCap,
    DecisionKind,
    ReferralProgram,
)


def _stamp(obj: Any, by: User | None) -> None:
    obj._history_user = by  # simple_history: who made this change


def _amount(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "Enter an amount in dollars, e.g. 12.50."}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: "Enter an amount of zero or more."})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: "Enter the amount in dollars and cents (two decimals)."})
    return amount.quantize(Decimal("0.01"))


# --- appreciation ------------------------------------------------------------------------


@transaction.atomic
def appreciation_issue(
    *, partner: Partner, kind: str, description: str, value: Any, given_on: date,
    is_cash_equivalent: bool = False, contact: Contact | None = None,
    referral: Referral | None = None, override_reason: str = "", by: User | None,
) -> tuple[Appreciation, Decision]:
    """Check the reward against the caps and record it: issued (within cap, no cap, or
    over a cap with a manager's override and its reason) or refused with the reasons.

    Bad input (a contact of another partner, a negative value...) raises ValidationError
    and writes nothing. Two issues for the same recipient at once cannot both pass the
    year cap: the partner row (and the patient row, for a patient referrer) is locked
    before the year's total is read.
    """
    value = _amount(value, "value")
    if contact is not None and contact.partner_id != partner.pk:
        raise ValidationError({"contact": "This person is not a contact of the partner."})
    if referral is not None and referral.source_partner_id != partner.pk:
        raise ValidationError({"referral": "This referral did not come from the partner."})
    if partner.merged_into_id:
        raise ValidationError("This partner was merged into another; log it there.")
    # Lock first, then read the total (select_for_update is a no-op on SQLite, where
    # refnet's IMMEDIATE transactions already serialize writers).
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    patient = None
    if partner.kind == PartnerKind.PATIENT_REFERRER and partner.patient_id:
        patient = Patient.objects.select_for_update().get(pk=partner.patient_id)
        partner.patient = patient
    decision = reward_check(partner, value, kind, is_cash_equivalent, given_on)
    override_reason = (override_reason or "").strip()

    row = Appreciation(
        partner=partner, contact=contact, patient=patient, referral=referral, kind=kind,
        description=(description or "").strip(), value=value, given_on=given_on,
        is_cash_equivalent=is_cash_equivalent, logged_by=by,
        warnings="\n".join(decision.warnings),
    )
    if decision.within:
        row.status = AppreciationStatus.ISSUED
        row.decision = (DecisionKind.UNCAPPED if decision.group == BUSINESS
                        else DecisionKind.WITHIN_CAP)
    else:
        reasons = list(decision.reasons)
        overridden = False
        if override_reason:
            if not has_cap(by, Cap.REWARDS_OVERRIDE):
                reasons.append("Only a manager may override a cap; the override was not "
                               "applied.")
            elif not decision.overridable:
                reasons.append("An override was asked for, but this refusal is a rule, not "
                               "a cap: it cannot be overridden.")
            else:
                overridden = True
        row.reason = "\n".join(reasons)
        if overridden:
            row.status = AppreciationStatus.ISSUED
            row.decision = DecisionKind.OVERRIDE
            row.override_reason = override_reason
            row.override_by = by
        else:
            row.status = AppreciationStatus.REFUSED
            row.decision = DecisionKind.REFUSED
    row.full_clean()
    row.save()
    return row, decision


# --- the patient referral program --------------------------------------------------------


def program_get() -> ReferralProgram:
    program, _ = ReferralProgram.objects.get_or_create(pk=1, defaults={"enabled": False})
    return program


@transaction.atomic
def program_enable(*, sign_off_text: str, reward_description: str = "",
                   reward_value: Any = None, by: User | None) -> ReferralProgram:
    """Turn the patient referral program on with a compliance sign-off (who, when, text)."""
    if not has_cap(by, Cap.COMPLIANCE_EDIT):
        raise PermissionDenied("Only a manager or admin may sign off the program.")
    program = ReferralProgram.objects.select_for_update().filter(pk=1).first() or program_get()
    program.enabled = True
    program.sign_off_text = (sign_off_text or "").strip()
    program.reward_description = (reward_description or "").strip()
    program.reward_value = (None if reward_value in (None, "")
                            else _amount(reward_value, "reward_value"))
    program.signed_by = by
    program.signed_at = timezone.now()
    program.disabled_by = None
    program.disabled_at = None
    program.full_clean()
    _stamp(program, by)
    program.save()
    return program


@transaction.atomic
def program_disable(*, by: User | None) -> ReferralProgram:
    if not has_cap(by, Cap.COMPLIANCE_EDIT):
        raise PermissionDenied("Only a manager or admin may turn the program off.")
    program = ReferralProgram.objects.select_for_update().filter(pk=1).first() or program_get()
    program.enabled = False
    program.disabled_by = by
    program.disabled_at = timezone.now()
    program.full_clean()
    _stamp(program, by)
    program.save()
    return program


# --- the caps table ----------------------------------------------------------------------


@transaction.atomic
def cap_save(*, cap: ComplianceCap | None = None, by: User | None,
             **fields: Any) -> ComplianceCap:
    """Create a cap (a new year's figure) or change one; history keeps every version."""
    if not has_cap(by, Cap.COMPLIANCE_EDIT):
        raise PermissionDenied("Only a manager or admin may change the caps.")
    cap = cap or ComplianceCap()
    if "amount" in fields:
        fields["amount"] = _amount(fields["amount"], "amount")
    for name, value in fields.items():
        setattr(cap, name, value)
    cap.updated_by = by
    cap.full_clean()
    _stamp(cap, by)
    cap.save()
    return cap


@transaction.atomic
def caps_ensure_defaults() -> int:
    """Add any default cap that is missing (after `refnet demo --reset` wiped the table);
    figures already there are left alone. Returns how many were added."""
    added = 0
    for key, year, amount, source in DEFAULT_CAPS:
        _, created = ComplianceCap.objects.get_or_create(
            key=key, year=year,
            defaults={"amount": amount, "source": source, "reviewed_on": DEFAULTS_REVIEWED_ON},
        )
        added += created
    program_get()
    return added
