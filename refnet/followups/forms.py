"""Forms for the rule settings: a rule's values, a new rule for a partner kind, and one
partner's exception to a rule."""

from __future__ import annotations

from django import forms

from refnet.partners.models import PartnerKind

from .models import FollowUpRule, RuleKind, RuleMode
from .rules.config import MAX_DUE_DAYS, RULE_FIELDS

PROGRESS_FIELDS = ("progress_after_evaluation", "progress_every_visits",
                   "progress_every_days", "progress_at_discharge")


class RuleForm(forms.ModelForm):
    class Meta:
        model = FollowUpRule
        fields = list(RULE_FIELDS)
        labels = {
            "enabled": "On",
            "due_days": "Due after (business days)",
            "progress_after_evaluation": "After the evaluation",
            "progress_every_visits": "Every N visits",
            "progress_every_days": "Every N days while under care",
            "progress_at_discharge": "At discharge",
        }
        widgets = {"due_days": forms.NumberInput(attrs={"min": 0, "max": MAX_DUE_DAYS}),
                   "progress_every_visits": forms.NumberInput(attrs={"min": 1}),
                   "progress_every_days": forms.NumberInput(attrs={"min": 1})}

    def __init__(self, *args, kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        kind = kind or self.instance.kind
        if kind and kind != RuleKind.PROGRESS_REPORT:
            for name in PROGRESS_FIELDS:
                del self.fields[name]
        if kind == RuleKind.CHECK_IN:
            self.fields["due_days"].help_text = (
                "Not used: a check-in is due at the partner's own cadence.")
        if kind == RuleKind.ASK_SOURCE:
            self.fields["mode"].choices = [(RuleMode.REMIND, RuleMode.REMIND.label)]

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}


class NewRuleForm(RuleForm):
    kind = forms.ChoiceField(choices=RuleKind.choices, label="Rule")
    partner_kind = forms.ChoiceField(choices=PartnerKind.choices, label="For partners who are")

    field_order = ["kind", "partner_kind"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, kind="", **kwargs)

    def values(self) -> dict:
        values = super().values()
        values.pop("kind")
        values.pop("partner_kind")
        return values


class OverrideForm(forms.Form):
    FOLLOW, OFF, CUSTOM = "rule", "off", "custom"
    setting = forms.ChoiceField(
        label="For this partner",
        choices=[(FOLLOW, "As the rule says"), (OFF, "Off for this partner"),
                 (CUSTOM, "On, with these settings")],
        widget=forms.RadioSelect,
    )
    mode = forms.ChoiceField(choices=[("", "As the rule says"), *RuleMode.choices],
                             required=False)
    due_days = forms.IntegerField(label="Due after (business days)", required=False,
                                  min_value=0, max_value=MAX_DUE_DAYS,
                                  help_text="Empty: as the rule says.")

    def service_args(self) -> dict:
        setting = self.cleaned_data["setting"]
        return {"follow_rule": setting == self.FOLLOW, "enabled": setting == self.CUSTOM,
                "mode": self.cleaned_data["mode"], "due_days": self.cleaned_data["due_days"]}
