"""The front desk's intake form: a patient, a source ("Who can we thank?") and the visit.

Each of patient and source comes in one of a few modes, so that the page can offer
"pick from the list", "add new" and (for the source) "don't know" in one form that is
saved in one transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from refnet.partners.models import BusinessCategory, Contact, Partner, PartnerKind
from refnet.practice.models import Location, ServiceLine

from .models import ArrivalChannel, Patient

PATIENT_MODES = [("existing", "Existing patient"), ("new", "New patient")]
SOURCE_MODES = [("existing", "From the list"), ("new", "New source"), ("unknown", "Don't know")]


class IntakeForm(forms.Form):
    patient_mode = forms.ChoiceField(choices=PATIENT_MODES, initial="existing",
                                     widget=forms.HiddenInput)
    patient = forms.ModelChoiceField(queryset=Patient.objects.all(), required=False,
                                     widget=forms.HiddenInput)
    patient_query = forms.CharField(required=False, label="Patient", max_length=200)
    new_first_name = forms.CharField(required=False, label="First name", max_length=100)
    new_last_name = forms.CharField(required=False, label="Last name", max_length=100)
    new_birth_date = forms.DateField(required=False, label="Date of birth",
                                     widget=forms.DateInput(attrs={"type": "date"}))
    new_phone = forms.CharField(required=False, label="Phone", max_length=30)
    new_email = forms.EmailField(required=False, label="Email")
    new_may_thank_referrer = forms.BooleanField(
        required=False, label="Patient authorizes us to thank their referrer by name"
    )
    new_sms_consent = forms.BooleanField(required=False, label="Agrees to text messages")
    new_federal_program_beneficiary = forms.BooleanField(
        required=False, label="Medicare or Medicaid beneficiary"
    )

    source_mode = forms.ChoiceField(choices=SOURCE_MODES, initial="existing",
                                    widget=forms.HiddenInput)
    source_partner = forms.ModelChoiceField(queryset=Partner.objects.live(), required=False,
                                            widget=forms.HiddenInput)
    source_contact = forms.ModelChoiceField(queryset=Contact.objects.all(), required=False,
                                            widget=forms.HiddenInput)
    source_query = forms.CharField(required=False, label="Who can we thank?", max_length=200)
    new_source_kind = forms.ChoiceField(choices=PartnerKind.choices, required=False,
                                        label="Kind", initial=PartnerKind.LOCAL_BUSINESS)
    new_source_category = forms.ChoiceField(
        choices=[("", "—")] + list(BusinessCategory.choices), required=False,
        label="Category (businesses)",
    )
    new_source_name = forms.CharField(required=False, label="Name", max_length=200)
    new_source_phone = forms.CharField(required=False, label="Phone", max_length=30)
    source_text = forms.CharField(required=False, label="In the patient's words",
                                  max_length=200)

    location = forms.ModelChoiceField(queryset=Location.objects.filter(is_active=True),
                                      empty_label=None)
    service_line = forms.ModelChoiceField(queryset=ServiceLine.objects.filter(is_active=True),
                                          required=False, empty_label="— not yet known —")
    channel = forms.ChoiceField(choices=ArrivalChannel.choices, initial=ArrivalChannel.FRONT_DESK,
                                label="Arrived by")
    received_at = forms.DateTimeField(
        required=False, label="Received",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M"],
        help_text="Leave empty for now.",
    )
    reason = forms.CharField(required=False, label="Reason for referral (clinical)",
                             widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def read_choices_once(self) -> IntakeForm:
        """Before rendering: read the locations and service lines once (a select otherwise
        queries its choices twice, to decide on `required` and to list the options)."""
        for name in ("location", "service_line"):
            self.fields[name].choices = list(iter(self.fields[name].choices))
        return self

    def clean_received_at(self):
        value = self.cleaned_data.get("received_at")
        if value and value > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError("The received time cannot be in the future.")
        return value

    def clean_new_birth_date(self):
        value = self.cleaned_data.get("new_birth_date")
        if value and value > timezone.localdate():
            raise forms.ValidationError("The date of birth cannot be in the future.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("patient_mode") == "new":
            for name in ("new_first_name", "new_last_name"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, "Needed for a new patient.")
        elif not data.get("patient"):
            self.add_error("patient_query",
                           "Choose the patient from the list, or add a new patient.")

        mode = data.get("source_mode")
        if mode == "existing":
            partner, contact = data.get("source_partner"), data.get("source_contact")
            if not partner:
                self.add_error("source_query", "Choose who referred them from the list, add a "
                                               "new source, or choose \u201cDon't know\u201d.")
            elif contact and contact.partner_id != partner.pk:
                self.add_error("source_query", "That contact does not work at that source.")
        elif mode == "new":
            if not (data.get("new_source_name") or "").strip():
                self.add_error("new_source_name", "Give the new source a name.")
            kind = data.get("new_source_kind")
            if not kind:
                self.add_error("new_source_kind", "Choose what kind of source this is.")
            elif kind not in (PartnerKind.LOCAL_BUSINESS, PartnerKind.COMMUNITY_ORG):
                data["new_source_category"] = ""
        return data

    def service_kwargs(self) -> dict[str, Any]:
        """The arguments for services.referral_record, from a valid form."""
        d = self.cleaned_data
        kwargs: dict[str, Any] = {
            "location": d["location"],
            "service_line": d.get("service_line"),
            "channel": d["channel"],
            "received_at": d.get("received_at"),
            "reason": d.get("reason", ""),
            "source_text": d.get("source_text", ""),
        }
        if d["patient_mode"] == "new":
            kwargs["new_patient"] = {
                "first_name": d["new_first_name"].strip(),
                "last_name": d["new_last_name"].strip(),
                "birth_date": d.get("new_birth_date"),
                "phone": d.get("new_phone", ""),
                "email": d.get("new_email", ""),
                "may_thank_referrer": d.get("new_may_thank_referrer", False),
                "sms_consent": d.get("new_sms_consent", False),
                "federal_program_beneficiary": d.get("new_federal_program_beneficiary", False),
            }
        else:
            kwargs["patient"] = d["patient"]
        mode = d["source_mode"]
        if mode == "existing":
            kwargs["source_partner"] = d["source_partner"]
            kwargs["source_contact"] = d.get("source_contact")
        elif mode == "new":
            kwargs["new_source"] = {
                "kind": d["new_source_kind"],
                "category": d.get("new_source_category", ""),
                "name": d["new_source_name"].strip(),
                "phone": d.get("new_source_phone", ""),
            }
        else:
            kwargs["source_unknown"] = True
            kwargs["source_text"] = kwargs["source_text"] or d.get("source_query", "")
        return kwargs
