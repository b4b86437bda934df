"""Appreciation and rewards within legal caps (COMPLIANCE.md, "Rewards and gifts").

- ComplianceCap: the figures (per item, per year, by year), each with its source and the
  day it was last reviewed. Seeded by migration 0002 from defaults.py.
- ReferralProgram: the patient referral program, off until someone with COMPLIANCE_EDIT
  records a sign-off (who, when, text). One row (pk=1).
- Appreciation: every gift, event, meal, discount or co-promotion given to a partner, and
  every attempt that was refused, with the decision and its reasons.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class CapKey(models.TextChoices):
    BENEFICIARY_ITEM = "beneficiary_item", "Medicare/Medicaid beneficiary: per item"
    BENEFICIARY_YEAR = "beneficiary_year", "Medicare/Medicaid beneficiary: per year"
    PHYSICIAN_YEAR = "physician_year", "Referring physician: non-monetary, per year"
    PHYSICIAN_INCIDENTAL = ("physician_incidental",
                            "Medical staff incidental benefit: per occurrence")


# Keys whose figure changes by calendar year (the others have year = NULL).
YEARLY_KEYS = frozenset({CapKey.PHYSICIAN_YEAR, CapKey.PHYSICIAN_INCIDENTAL})


class ComplianceCap(models.Model):
    key = models.CharField(max_length=24, choices=CapKey.choices)
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For figures that change by year; empty otherwise."
    )
    amount = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)],
        help_text="In US dollars."
    )
    source = models.TextField(help_text="Where the figure comes from (rule, citation).")
    reviewed_on = models.DateField(help_text="When someone last checked this figure.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["key", "year"]
        constraints = [
            models.UniqueConstraint(fields=["key", "year"], name="rewards_cap_key_year",
                                    violation_error_message="This cap already has a figure "
                                                            "for that year."),
            models.UniqueConstraint(fields=["key"], condition=Q(year__isnull=True),
                                    name="rewards_cap_key_no_year",
                                    violation_error_message="This cap already has a figure."),
        ]

    def __str__(self) -> str:
        year = f" {self.year}" if self.year else ""
        return f"{self.get_key_display()}{year}: ${self.amount}"

    def clean(self) -> None:
        if self.key in YEARLY_KEYS and not self.year:
            raise ValidationError({"year": "This cap is set per calendar year: enter the year."})
        if self.key and self.key not in YEARLY_KEYS and self.year:
            raise ValidationError({"year": "This cap is not by year: leave the year empty."})
        if self.year is not None and not 2000 <= self.year <= 2100:
            raise ValidationError({"year": "Enter a year between 2000 and 2100."})


class ReferralProgram(models.Model):
    """The patient referral program: one row. Enabling it needs a recorded sign-off."""

    enabled = models.BooleanField(default=False)
    reward_description = models.CharField(max_length=200, blank=True,
                                          help_text="e.g. a $10 coffee shop voucher")
    reward_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                       validators=[MinValueValidator(0)])
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    sign_off_text = models.TextField(blank=True)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    disabled_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return "Patient referral program: " + ("on" if self.enabled else "off")

    def clean(self) -> None:
        if self.enabled and not (self.sign_off_text.strip() and self.signed_by_id
                                 and self.signed_at):
            raise ValidationError({"sign_off_text": "Turning the program on needs a "
                                                    "compliance sign-off: who, when and its "
                                                    "text."})


class AppreciationKind(models.TextChoices):
    GIFT = "gift", "Gift"
    EVENT = "event", "Event"
    MEAL = "meal", "Meal"
    DISCOUNT = "discount", "Discount"
    CO_PROMOTION = "co_promotion", "Co-promotion"
    OTHER = "other", "Other"


class AppreciationStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    REFUSED = "refused", "Refused"


class DecisionKind(models.TextChoices):
    WITHIN_CAP = "within_cap", "Within cap"
    UNCAPPED = "uncapped", "Recorded (no cap applies)"
    REFUSED = "refused", "Refused"
    OVERRIDE = "override", "Over cap: manager override"


class Appreciation(models.Model):
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT,
                                related_name="appreciations")
    contact = models.ForeignKey(
        "partners.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The person at the partner who received it, if not the partner itself.",
    )
    # For patient referrers: the patient behind the partner, copied when logged, so the
    # yearly total is per patient even if the patient has two referrer entries.
    patient = models.ForeignKey("referrals.Patient", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    referral = models.ForeignKey("referrals.Referral", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=14, choices=AppreciationKind.choices)
    description = models.CharField(max_length=300)
    value = models.DecimalField(max_digits=10, decimal_places=2,
                                validators=[MinValueValidator(0)], help_text="In US dollars.")
    is_cash_equivalent = models.BooleanField(
        "cash or cash equivalent", default=False,
        help_text="Cash, a check, a gift card or voucher usable like cash.",
    )
    given_on = models.DateField()
    status = models.CharField(max_length=8, choices=AppreciationStatus.choices)
    decision = models.CharField(max_length=12, choices=DecisionKind.choices)
    reason = models.TextField(blank=True, help_text="Why the check refused it (also kept "
                                                    "when a manager overrode it).")
    override_reason = models.TextField(blank=True)
    warnings = models.TextField(blank=True)
    override_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-given_on", "-id"]
        indexes = [
            models.Index(fields=["partner", "given_on"]),
            models.Index(fields=["patient", "given_on"]),
            models.Index(fields=["given_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ${self.value} to {self.partner_id} ({self.status})"
