from django import forms

from .models import AuditAction


class AuditFilterForm(forms.Form):
    username = forms.CharField(required=False, max_length=150, label="User")
    patient = forms.IntegerField(required=False, min_value=1, label="Patient id")
    action = forms.ChoiceField(required=False, choices=[("", "Any")] + AuditAction.choices)
    since = forms.DateField(required=False, label="From",
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To (inclusive)",
                            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data
