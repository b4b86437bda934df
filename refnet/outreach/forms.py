"""Forms for events and applying a playbook. Times are entered in the practice's time zone."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from refnet.partners.models import BusinessCategory
from refnet.practice.models import Location

from .models import Event, Rsvp

_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_DT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
_DT_ERRORS = {"invalid": "Enter a date and time, e.g. 2025-03-10 18:30."}


def _owners():
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "username")


class EventForm(forms.ModelForm):
    starts_at = forms.DateTimeField(label="Starts", widget=_DT, input_formats=_DT_FORMATS,
                                    error_messages={**_DT_ERRORS,
                                                    "required": "Say when it starts."})
    ends_at = forms.DateTimeField(label="Ends", widget=_DT, input_formats=_DT_FORMATS,
                                  error_messages={**_DT_ERRORS, "required": "Say when it ends."})

    class Meta:
        model = Event
        fields = ["title", "kind", "starts_at", "ends_at", "place", "location", "cost",
                  "owner", "attribution_days", "description", "notes"]
        labels = {"cost": "Cost ($)", "attribution_days": "Count referrals for (days)"}
        widgets = {"description": forms.Textarea(attrs={"rows": 3}),
                   "notes": forms.Textarea(attrs={"rows": 3})}

    fieldsets_spec = [
        ("What and when", ["title", "kind", "starts_at", "ends_at"]),
        ("Where", ["place", "location"]),
        ("Who and cost", ["owner", "cost", "attribution_days"]),
        ("Text", ["description", "notes"]),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _owners()
        self.fields["location"].queryset = Location.objects.filter(is_active=True)
        self.fields["title"].error_messages["required"] = "Give the event a title."

    @property
    def fieldsets(self):
        return [(legend, [self[name] for name in names])
                for legend, names in self.fieldsets_spec]


class PlaybookApplyForm(forms.Form):
    title = forms.CharField(max_length=200, required=False,
                            help_text="Leave empty to use the playbook's name.")
    starts_at = forms.DateTimeField(label="Starts", widget=_DT, input_formats=_DT_FORMATS,
                                    error_messages={**_DT_ERRORS,
                                                    "required": "Say when it starts."})
    place = forms.CharField(max_length=200, required=False,
                            help_text="The venue's name and address.")
    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True),
                                      required=False, help_text="Or one of our locations.")
    owner = forms.ModelChoiceField(queryset=_owners(), error_messages={
        "required": "Choose who owns the event: the playbook's steps go to them."})
    cost = forms.DecimalField(label="Cost ($)", max_digits=9, decimal_places=2, min_value=0,
                              required=False, help_text="Leave empty for the playbook's.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _owners()
        self.fields["location"].queryset = Location.objects.filter(is_active=True)


class PickerForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Name")
    category = forms.ChoiceField(required=False, label="Category",
                                 choices=[("", "Any category"), *BusinessCategory.choices])
    mine = forms.BooleanField(required=False, label="Only partners I own")


class InviteeForm(forms.Form):
    rsvp = forms.ChoiceField(choices=Rsvp.choices, required=False)
    attended = forms.ChoiceField(choices=[("yes", "Came"), ("no", "Did not come")],
                                 required=False)
