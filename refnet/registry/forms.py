"""Forms of the finder, the complementary table and the import page."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from refnet.practice.models import Location, ServiceLine

from .models import ComplementaryPair, EntityType
from .selectors import DEFAULT_RADIUS, specialty_choices


class FinderForm(forms.Form):
    radius = forms.IntegerField(label="Within (miles)", min_value=1, max_value=200,
                                initial=DEFAULT_RADIUS, required=False)
    location = forms.ModelChoiceField(
        label="Near", required=False, empty_label="Any of our locations",
        queryset=Location.objects.filter(is_active=True, latitude__isnull=False))
    service_line = forms.ModelChoiceField(
        label="Complements", required=False, empty_label="Everything we offer",
        queryset=ServiceLine.objects.filter(is_active=True))
    specialty = forms.ChoiceField(label="Specialty", required=False)
    entity_type = forms.TypedChoiceField(
        label="Who", required=False, coerce=int, empty_value=None,
        choices=[("", "Clinicians and practices"), *EntityType.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = [("", "Any complementary specialty"),
                                            *specialty_choices()]


class AddProspectForm(forms.Form):
    owner = forms.ModelChoiceField(
        label="Owner", required=False,
        queryset=get_user_model().objects.filter(is_active=True).order_by("first_name"),
        error_messages={"invalid_choice": "Choose an active user as the owner."})


class PairForm(forms.ModelForm):
    class Meta:
        model = ComplementaryPair
        fields = ["taxonomy", "label", "practice_offers", "weight", "note"]

    def clean_taxonomy(self) -> str:
        return self.cleaned_data["taxonomy"].strip().upper()

    def clean_practice_offers(self) -> str:
        return self.cleaned_data["practice_offers"].strip().lower()


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="File", choices=[
        ("nppes", "NPPES registry (npidata_pfile_*.csv)"),
        ("nucc", "NUCC taxonomy (nucc_taxonomy_*.csv)")])
    file = forms.FileField(label="CSV file")
    states = forms.CharField(
        label="Keep states", required=False, max_length=200,
        help_text="Two-letter codes, e.g. CO,WY. Blank keeps every state (the whole "
                  "country is millions of rows).")
