"""The cap check: may this reward be given? A pure function (`decide`) over plain
figures, and `reward_check`, which reads those figures from the database.

Who a reward is for decides which rules apply (COMPLIANCE.md, "Rewards and gifts"):

1. Patient referrers ("patient"): the patient referral program must be on with a recorded
   compliance sign-off, else refused. If the patient is a Medicare/Medicaid beneficiary
   (or no patient record is linked, so we cannot tell): never cash or a cash equivalent,
   at most the per-item cap, and the year's total at most the per-year cap.
2. Clinicians and medical practices ("physician"): never cash (the Stark non-monetary
   compensation exception covers only non-cash items); the year's total at most that
   calendar year's cap; no cap recorded for the year -> refused until an admin adds it.
   A practice is tracked as one recipient against the same cap.
3. Everyone else ("business": local businesses, community organizations, marketing
   channels): no federal cap; recorded, cash with a warning.

Refusals for a cap (per item, per year) may be overridden by a manager with a reason;
refusals for cash to a beneficiary or a physician, the program being off, or a missing
cap may not: they are rules, not limits. The decision never reads the referral's status:
rewards never depend on the referred person becoming a paying patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from refnet.partners.models import Partner, PartnerKind

from .models import Appreciation, AppreciationStatus, CapKey, ComplianceCap, ReferralProgram

CENT = Decimal("0.01")
WITHIN = "within"
REFUSED = "refused"

PATIENT = "patient"
PHYSICIAN = "physician"
BUSINESS = "business"


def recipient_group(partner: Partner) -> str:
    if partner.kind == PartnerKind.PATIENT_REFERRER:
        return PATIENT
    if partner.kind in (PartnerKind.CLINICIAN, PartnerKind.MEDICAL_PRACTICE):
        return PHYSICIAN
    return BUSINESS


def money(value: Decimal | None) -> str:
    return "" if value is None else f"${value.quantize(CENT):,}"


@dataclass
class Decision:
    outcome: str  # WITHIN or REFUSED
    group: str
    year: int
    value: Decimal
    spent: Decimal  # issued to this recipient this calendar year, before this one
    cap: Decimal | None = None  # the yearly cap, if one applies
    item_cap: Decimal | None = None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    overridable: bool = True  # False if any reason is a rule that no one may override

    @property
    def within(self) -> bool:
        return self.outcome == WITHIN

    @property
    def capped(self) -> bool:
        return self.cap is not None or self.item_cap is not None

    @property
    def remaining(self) -> Decimal | None:
        """Left this year before this reward (never below zero)."""
        if self.cap is None:
            return None
        return max(self.cap - self.spent, Decimal("0.00"))

    @property
    def remaining_after(self) -> Decimal | None:
        if self.cap is None:
            return None
        return self.cap - self.spent - self.value


@dataclass
class Facts:
    """What the rules need to know, read from the database by `reward_check`."""

    group: str
    year: int
    spent: Decimal
    program_enabled: bool = False
    beneficiary: bool = False
    patient_linked: bool = True
    is_practice: bool = False
    caps: dict[str, Decimal | None] = field(default_factory=dict)  # by CapKey


def decide(facts: Facts, *, value: Decimal, cash_equivalent: bool) -> Decision:
    """The rules above, on plain figures. Refuses with every reason that applies."""
    value = Decimal(value).quantize(CENT)
    d = Decision(outcome=WITHIN, group=facts.group, year=facts.year, value=value,
                 spent=facts.spent)

    def refuse(reason: str, *, hard: bool = False) -> None:
        d.reasons.append(reason)
        if hard:
            d.overridable = False

    if facts.group == PATIENT:
        if not facts.program_enabled:
            refuse("The patient referral program is off: a compliance sign-off is needed "
                   "before any reward to a patient who refers.", hard=True)
        if facts.beneficiary or not facts.patient_linked:
            if not facts.patient_linked:
                d.warnings.append("No patient record is linked to this referrer, so the "
                                  "Medicare/Medicaid limits apply to be safe.")
            d.item_cap = facts.caps.get(CapKey.BENEFICIARY_ITEM)
            d.cap = facts.caps.get(CapKey.BENEFICIARY_YEAR)
            if cash_equivalent:
                refuse("Patient gift limit: never cash or a cash equivalent (gift card, "
                       "check), whatever the amount. This rule cannot be overridden.",
                       hard=True)
            if d.item_cap is None or d.cap is None:
                refuse("No patient gift cap is set; ask an admin to set it on the caps "
                       "page.", hard=True)
            else:
                if value > d.item_cap:
                    refuse(f"Patient gift limit: at most {money(d.item_cap)} per item; this "
                           f"is {money(value)}.")
                if facts.spent + value > d.cap:
                    refuse(f"Patient gift limit: at most {money(d.cap)} per year; "
                           f"{money(facts.spent)} already given in {facts.year}, so "
                           f"{money(d.remaining)} is left and this is {money(value)}.")
        elif cash_equivalent:
            d.warnings.append("Cash or a gift card to a patient: recorded; a non-cash "
                              "thank-you is safer.")
    elif facts.group == PHYSICIAN:
        d.cap = facts.caps.get(CapKey.PHYSICIAN_YEAR)
        if cash_equivalent:
            refuse("Never cash or a cash equivalent (gift card, check) to a referring "
                   "clinician: the Stark exception covers only non-monetary gifts. This "
                   "rule cannot be overridden.", hard=True)
        if d.cap is None:
            refuse(f"No cap set for {facts.year}; ask an admin to add the year's "
                   f"non-monetary compensation cap on the caps page.", hard=True)
        elif facts.spent + value > d.cap:
            refuse(f"Non-monetary compensation cap for {facts.year}: {money(d.cap)}; "
                   f"{money(facts.spent)} already given, so {money(d.remaining)} is left "
                   f"and this is {money(value)}.")
        incidental = facts.caps.get(CapKey.PHYSICIAN_INCIDENTAL)
        if incidental is not None and value > incidental:
            d.warnings.append(f"More than the {money(incidental)} incidental-benefit figure "
                              f"per occurrence: it counts in full against the yearly cap.")
        if facts.is_practice:
            d.warnings.append("Gifts to a practice are tracked for the practice as one "
                              "recipient, against the same yearly cap as a physician.")
    else:
        if cash_equivalent:
            d.warnings.append("Cash or a gift card to a business: recorded; no federal "
                              "cap applies.")

    if d.reasons:
        d.outcome = REFUSED
    return d


# --- reading the facts -----------------------------------------------------------------


def cap_amount(key: str, year: int | None = None) -> Decimal | None:
    """The figure for a key (and a year, for yearly keys); None if none is recorded."""
    row = ComplianceCap.objects.filter(key=key, year=year).first()
    return row.amount if row else None


def _latest_up_to(key: str, year: int) -> Decimal | None:
    row = ComplianceCap.objects.filter(key=key, year__lte=year).order_by("-year").first()
    return row.amount if row else None


def program_enabled() -> bool:
    program = ReferralProgram.objects.filter(pk=1).first()
    return bool(program and program.enabled and program.sign_off_text.strip()
                and program.signed_at)


def spent_filter(partner: Partner) -> Q:
    """The rows counted towards this recipient's yearly total: per patient for a patient
    referrer with a linked patient, else the partner and duplicates merged into it."""
    if partner.kind == PartnerKind.PATIENT_REFERRER and partner.patient_id:
        return Q(patient_id=partner.patient_id)
    return Q(partner_id=partner.pk) | Q(partner__merged_into_id=partner.pk)


def spent_in_year(partner: Partner, year: int) -> Decimal:
    total = (Appreciation.objects.filter(spent_filter(partner))
             .filter(status=AppreciationStatus.ISSUED, given_on__year=year)
             .aggregate(total=Sum("value"))["total"])
    return (total or Decimal("0")).quantize(CENT)


def facts_for(partner: Partner, on_date: date) -> Facts:
    group = recipient_group(partner)
    year = on_date.year
    facts = Facts(group=group, year=year, spent=spent_in_year(partner, year))
    if group == PATIENT:
        facts.program_enabled = program_enabled()
        facts.patient_linked = partner.patient_id is not None
        facts.beneficiary = bool(partner.patient_id
                                 and partner.patient.federal_program_beneficiary)
        facts.caps = {CapKey.BENEFICIARY_ITEM: cap_amount(CapKey.BENEFICIARY_ITEM),
                      CapKey.BENEFICIARY_YEAR: cap_amount(CapKey.BENEFICIARY_YEAR)}
    elif group == PHYSICIAN:
        facts.is_practice = partner.kind == PartnerKind.MEDICAL_PRACTICE
        facts.caps = {CapKey.PHYSICIAN_YEAR: cap_amount(CapKey.PHYSICIAN_YEAR, year),
                      CapKey.PHYSICIAN_INCIDENTAL: _latest_up_to(CapKey.PHYSICIAN_INCIDENTAL,
                                                                 year)}
    return facts


def reward_check(recipient: Partner, value: Decimal, kind: str, cash_equiv: bool,
                 on_date: date) -> Decision:
    """May `recipient` be given this (kind, value) on `on_date`? Reads, never writes.

    `kind` (gift, meal, ...) does not change the rules today; it is taken so that a rule
    that depends on it (a meal's incidental figure) has one place to go."""
    del kind
    return decide(facts_for(recipient, on_date), value=value, cash_equivalent=cash_equiv)
