"""Forms: the board's filter and move, a partner's scorecard, the weights."""

from __future__ import annotations

from typing import Any

from django import forms

from refnet.accounts.models import User
from refnet.partners.models import PartnerKind, Stage
from refnet.widgets import Select

from .models import MAX_WEIGHT, CriterionKind, FitCriterion
from .scoring import SCALE_MAX

DONT_KNOW = ""


class BoardFilterForm(forms.Form):
    """Whose cards (mine, everyone's, nobody's, one person's) and which kind of partner. A
    bad value falls back to the default rather than emptying the board."""

    owner = forms.ChoiceField(label="Owner", required=False, widget=Select)
    kind = forms.ChoiceField(label="Kind", required=False, widget=Select,
                             choices=[("", "Any kind"), *PartnerKind.choices])

    def __init__(self, *args: Any, default_owner: str = "all", **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.default_owner = default_owner
        users = User.objects.filter(is_active=True).order_by("first_name", "username")
        self.fields["owner"].choices = [
            ("me", "Mine"), ("all", "Everyone"), ("none", "Nobody yet"),
            *[(str(u.pk), str(u)) for u in users],
        ]

    def values(self) -> dict[str, str]:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {"owner": data.get("owner") or self.default_owner, "kind": data.get("kind") or ""}


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to", choices=Stage.choices, error_messages={
        "required": "Choose the stage to move to.",
        "invalid_choice": "%(value)s is not a stage.",
    })
    from_stage = forms.ChoiceField(required=False, choices=[("", ""), *Stage.choices])
    note = forms.CharField(required=False, max_length=500)


def _answer_field(criterion: FitCriterion) -> forms.ChoiceField:
    if criterion.kind == CriterionKind.YES_NO:
        choices = [("1", "Yes"), ("0", "No")]
    else:
        choices = [(str(v), str(v)) for v in range(SCALE_MAX + 1)]
    return forms.ChoiceField(
        label=criterion.question, required=False, widget=forms.RadioSelect,
        choices=[*choices, (DONT_KNOW, "Don't know")],
    )


class ScorecardForm(forms.Form):
    """One radio group per answered question ("Don't know" leaves it out of the score) and
    the free-text reason they would refer to us."""

    why_refer = forms.CharField(
        label="Why would they refer to us?", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, criteria: list[FitCriterion], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.criteria = [c for c in criteria if c.kind != CriterionKind.DISTANCE]
        for criterion in self.criteria:
            self.fields[f"q_{criterion.code}"] = _answer_field(criterion)

    @classmethod
    def initial_from(cls, answers: dict[str, int], why_refer: str) -> dict[str, str]:
        initial = {f"q_{code}": str(value) for code, value in answers.items()}
        initial["why_refer"] = why_refer
        return initial

    def answers(self) -> dict[str, str]:
        return {c.code: self.cleaned_data.get(f"q_{c.code}", "") for c in self.criteria}

    def rows(self) -> list[tuple[FitCriterion, Any]]:
        return [(c, self[f"q_{c.code}"]) for c in self.criteria]


class WeightsForm(forms.Form):
    def __init__(self, *args: Any, criteria: list[FitCriterion], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            label = (f"{criterion.group}: {criterion.question}"
                     if criterion.group.endswith("?") else criterion.question)
            self.fields[f"w_{criterion.code}"] = forms.IntegerField(
                label=label, min_value=0, max_value=MAX_WEIGHT, initial=criterion.weight,
                error_messages={"required": "Give a weight (0 leaves the question out).",
                                "invalid": "A weight is a whole number.",
                                "min_value": "A weight is 0 or more.",
                                "max_value": f"A weight is at most {MAX_WEIGHT}."},
                widget=forms.NumberInput(attrs={"class": "weight-input"}),
            )

    def weights(self) -> dict[str, int]:
        return {c.code: self.cleaned_data[f"w_{c.code}"] for c in self.criteria}
