"""Reads: recent appreciation, a partner's year so far, the caps table, the report of
value given per recipient per year against the cap (one SQL aggregate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear

from refnet.partners.models import Partner, PartnerKind

from .checks import PATIENT, PHYSICIAN, Decision, recipient_group, reward_check
from .models import (
    Appreciation,
    AppreciationStatus,
    CapKey,
    ComplianceCap,
    DecisionKind,
    ReferralProgram,
)

ZERO = Decimal("0.00")


def appreciation_recent(limit: int = 30) -> QuerySet[Appreciation]:
    return (Appreciation.objects.select_related("partner", "contact", "logged_by",
                                                "override_by")
            .order_by("-created_at", "-id")[:limit])


def program_current() -> ReferralProgram:
    program = ReferralProgram.objects.select_related("signed_by", "disabled_by").filter(
        pk=1).first()
    return program or ReferralProgram(pk=1, enabled=False)


def program_history(limit: int = 20) -> list[Any]:
    return list(ReferralProgram.history.select_related("history_user")
                .order_by("-history_date", "-history_id")[:limit])


def caps_table() -> list[ComplianceCap]:
    return list(ComplianceCap.objects.select_related("updated_by").order_by("key", "year"))


@dataclass
class PartnerYear:
    decision: Decision  # a zero-value check: this year's spent, cap and remaining
    entries: list[Appreciation]
    refused: int


def partner_year(partner: Partner, today: date, *, last: int = 5) -> PartnerYear:
    decision = reward_check(partner, ZERO, "gift", False, today)
    entries = list(Appreciation.objects.filter(partner=partner)
                   .select_related("contact").order_by("-given_on", "-id")[:last])
    refused = Appreciation.objects.filter(partner=partner, given_on__year=today.year,
                                          status=AppreciationStatus.REFUSED).count()
    return PartnerYear(decision, entries, refused)


def report_years() -> list[int]:
    years = (Appreciation.objects.annotate(y=ExtractYear("given_on"))
             .values_list("y", flat=True).distinct())
    return sorted({int(y) for y in years}, reverse=True)


@dataclass
class ReportRow:
    partner_id: int
    name: str
    kind: str
    kind_label: str
    issued: int
    given: Decimal
    overrides: int
    refused: int
    refused_value: Decimal
    cap: Decimal | None
    cap_hidden: bool = False  # a patient referrer's cap, withheld from who may not see patients

    @property
    def remaining(self) -> Decimal | None:
        return None if self.cap is None else self.cap - self.given

    @property
    def over_by(self) -> Decimal:
        return max(self.given - self.cap, ZERO) if self.cap is not None else ZERO

    @property
    def over_cap(self) -> bool:
        return self.cap is not None and self.given > self.cap


def _yearly_cap(key: str, year: int) -> Decimal | None:
    row = ComplianceCap.objects.filter(key=key, year=year).first()
    return row.amount if row else None


def report_rows(year: int, *, partner_kind: str = "") -> list[ReportRow]:
    """One row per recipient (partner) with anything given or refused in `year`."""
    issued = Q(status=AppreciationStatus.ISSUED)
    qs = Appreciation.objects.filter(given_on__year=year)
    if partner_kind:
        qs = qs.filter(partner__kind=partner_kind)
    rows = (qs.values("partner_id", "partner__name", "partner__kind", "partner__patient_id",
                      "partner__patient__federal_program_beneficiary")
            .annotate(issued=Count("id", filter=issued),
                      given=Sum("value", filter=issued),
                      overrides=Count("id", filter=Q(decision=DecisionKind.OVERRIDE)),
                      refused=Count("id", filter=Q(status=AppreciationStatus.REFUSED)),
                      refused_value=Sum("value", filter=Q(status=AppreciationStatus.REFUSED)))
            .order_by("partner__name", "partner_id"))
    physician_cap = _yearly_cap(CapKey.PHYSICIAN_YEAR, year)
    beneficiary_cap = _yearly_cap(CapKey.BENEFICIARY_YEAR, None)
    labels = dict(PartnerKind.choices)
    out = []
    for r in rows:
        group = recipient_group(Partner(kind=r["partner__kind"]))
        cap = None
        if group == PHYSICIAN:
            cap = physician_cap
        elif group == PATIENT and (r["partner__patient__federal_program_beneficiary"]
                                   or r["partner__patient_id"] is None):
            cap = beneficiary_cap
        out.append(ReportRow(
            partner_id=r["partner_id"], name=r["partner__name"], kind=r["partner__kind"],
            kind_label=labels.get(r["partner__kind"], r["partner__kind"]),
            issued=r["issued"], given=(r["given"] or ZERO).quantize(ZERO),
            overrides=r["overrides"], refused=r["refused"],
            refused_value=(r["refused_value"] or ZERO).quantize(ZERO), cap=cap))
    return out
