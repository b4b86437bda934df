"""Forms for logging appreciation, the program sign-off and the caps table."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from refnet.partners.models import Partner, PartnerKind
from refnet.referrals.models import Referral

from .models import AppreciationKind, CapKey, ComplianceCap

MONEY_ERRORS = {
    "required": "Enter the value in dollars (0 for something without a price).",
    "invalid": "Enter an amount in dollars, e.g. 12.50.",
    "min_value": "Enter an amount of zero or more.",
    "max_decimal_places": "Enter the amount in dollars and cents (two decimals).",
    "max_digits": "That amount is too large.",
    "max_whole_digits": "That amount is too large.",
}


class ReferralChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Referral) -> str:
        # No patient name: the referral's number and day are enough to pick it.
        return f"Referral #{obj.pk}, received {obj.received_at:%b} {obj.received_at.day}, " \
               f"{obj.received_at.year}"


class AppreciationForm(forms.Form):
    kind = forms.ChoiceField(label="What", choices=AppreciationKind.choices)
    description = forms.CharField(
        label="Description", max_length=300,
        error_messages={"required": "Describe what was given, e.g. “fruit basket”."})
    value = forms.DecimalField(label="Value ($)", min_value=0, max_digits=10,
                               decimal_places=2, error_messages=MONEY_ERRORS)
    is_cash_equivalent = forms.BooleanField(
        label="Cash or cash equivalent (gift card, check, voucher)", required=False)
    given_on = forms.DateField(label="Given on", error_messages={
        "required": "Enter the day it was given.", "invalid": "Enter the day as YYYY-MM-DD."},
        widget=forms.DateInput(attrs={"type": "date"}))
    contact = forms.ModelChoiceField(
        label="Given to", required=False, queryset=None, empty_label="The partner itself",
        error_messages={"invalid_choice": "Choose one of this partner's contacts."})
    referral = ReferralChoice(
        label="For the referral (optional)", required=False, queryset=None,
        help_text="The reward never depends on how the referral ends.",
        error_messages={"invalid_choice": "Choose one of this partner's referrals."})
    override_reason = forms.CharField(
        label="Manager override: reason", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only to give over a cap. Cash to a beneficiary or a physician, a missing "
                  "cap and the program being off cannot be overridden.")

    def __init__(self, *args: Any, partner: Partner, show_referrals: bool,
                 may_override: bool, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("given_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = partner.contacts.all()
        if not partner.contacts.exists():
            del self.fields["contact"]
        if show_referrals and partner.kind != PartnerKind.MARKETING_CHANNEL:
            field = self.fields["referral"]
            field.queryset = Referral.objects.filter(source_partner=partner).order_by(
                "-received_at", "-id")
            # Offer the latest 50; any of the partner's referrals is accepted.
            field.widget.choices = [("", "—")] + [
                (r.pk, field.label_from_instance(r)) for r in field.queryset[:50]]
        else:
            del self.fields["referral"]
        if not may_override:
            del self.fields["override_reason"]


class SignOffForm(forms.Form):
    sign_off_text = forms.CharField(
        label="Compliance sign-off", widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="Who reviewed the program, against which rules, and what it allows. "
                  "Recorded with your name and the time.",
        error_messages={"required": "Turning the program on needs a compliance sign-off: "
                                    "write its text."})
    reward_description = forms.CharField(label="Reward", max_length=200, required=False,
                                         help_text="e.g. a $10 coffee shop voucher")
    reward_value = forms.DecimalField(label="Reward value ($)", required=False, min_value=0,
                                      max_digits=10, decimal_places=2,
                                      error_messages=MONEY_ERRORS)


class CapForm(forms.ModelForm):
    class Meta:
        model = ComplianceCap
        fields = ["key", "year", "amount", "source", "reviewed_on"]
        widgets = {"reviewed_on": forms.DateInput(attrs={"type": "date"}),
                   "source": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = CapKey.choices
        self.fields["amount"].error_messages.update(MONEY_ERRORS)
        if self.instance.pk:
            # Which cap a row is stays fixed; a new year is a new row.
            del self.fields["key"]
            del self.fields["year"]

    def _post_clean(self) -> None:
        # The service runs full_clean with the user; the view reports its errors.
        pass
