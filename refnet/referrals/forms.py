"""Forms of the referral pipeline: list filters, board filter, status moves, source answers."""

from __future__ import annotations

from typing import Any

from django import forms

from refnet.partners.models import Contact, Partner
from refnet.practice.models import Location, ServiceLine
from refnet.widgets import Select

from .models import Outcome, ReferralStatus
from .selectors import OPEN, REACHED_STAGES

# The browser's date picker sends ISO dates; people typing into a plain field use US style.
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class ReferralFilterForm(forms.Form):
    """The list page's filters, read from the query string.

    Filters are applied one by one from cleaned_data, so a wrong date is reported next to
    its field and skipped while the other filters still apply.
    """

    status = forms.ChoiceField(
        required=False, widget=Select,
        choices=[("", "Any status"), (OPEN, "Open (any)"), *ReferralStatus.choices],
    )
    source_name = forms.CharField(required=False, max_length=200, label="Source")
    source = forms.ModelChoiceField(
        queryset=Partner.objects.all(), required=False, widget=forms.HiddenInput,
        error_messages={"invalid_choice": "That source no longer exists."},
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.all(), required=False, empty_label="Any location",
        widget=Select,
    )
    service_line = forms.ModelChoiceField(
        queryset=ServiceLine.objects.all(), required=False, empty_label="Any service line",
        widget=Select,
    )
    received_from = forms.DateField(
        required=False, label="Received from", input_formats=DATE_FORMATS, widget=DateInput(),
        error_messages={"invalid": "Enter a date like 2025-03-31 (year-month-day)."},
    )
    received_to = forms.DateField(
        required=False, label="Received to", input_formats=DATE_FORMATS, widget=DateInput(),
        error_messages={"invalid": "Enter a date like 2025-03-31 (year-month-day)."},
    )
    unresolved = forms.BooleanField(required=False, label="Unresolved source only")
    reached = forms.ChoiceField(
        required=False, label="Reached stage", widget=Select,
        choices=[("", "Any stage"), *((s, s.capitalize()) for s in REACHED_STAGES)],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            self.add_error("received_to", "This date is before “Received from”.")
        return data


class BoardFilterForm(forms.Form):
    location = forms.ModelChoiceField(
        queryset=Location.objects.all(), required=False, empty_label="All locations",
        widget=Select,
    )


# Only closing moves carry an outcome; an outcome sent with any other move is dropped, so a
# value left in the select cannot mark an open referral as lost.
CLOSING = (ReferralStatus.CLOSED_WON, ReferralStatus.CLOSED_LOST)


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=ReferralStatus.choices)
    # The status the user saw when they clicked: a move made from a stale page is refused
    # rather than applied to a referral that has moved on (scheduled -> contacted is a
    # legal move, so a stale "Contacted" click would otherwise undo a booking).
    from_status = forms.ChoiceField(choices=ReferralStatus.choices)
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Choose why…"), *Outcome.choices]
    )
    note = forms.CharField(required=False, max_length=500, widget=forms.Textarea)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("to_status") not in CLOSING:
            data["outcome"] = ""
        return data


class ResolveSourceForm(forms.Form):
    """The answer to "Who referred this patient?": a radio value "<partner>" or
    "<partner>-<contact>" as offered by selectors.source_candidates."""

    source = forms.CharField(
        error_messages={"required": "Choose who referred this patient."}
    )

    def clean_source(self) -> tuple[Partner, Contact | None]:
        partner_id, _, contact_id = self.cleaned_data["source"].partition("-")
        if not partner_id.isdigit() or (contact_id and not contact_id.isdigit()):
            raise forms.ValidationError("Choose one of the sources listed.")
        partner = Partner.objects.filter(pk=int(partner_id)).first()
        if partner is None:
            raise forms.ValidationError("That source no longer exists; search again.")
        contact = None
        if contact_id:
            contact = Contact.objects.filter(pk=int(contact_id)).first()
            if contact is None:
                raise forms.ValidationError("That contact no longer exists; search again.")
        return partner, contact
