"""Forms for the partner screens. They parse and check input; services do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from refnet.accounts.models import User
from refnet.widgets import Select

from .models import BusinessCategory, Contact, Partner, PartnerKind, Stage, Tag

TAG_MAX_LENGTH = Tag._meta.get_field("name").max_length


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the field it names when the form
    has that field, otherwise at the top (add_error refuses unknown field names)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            label = field.replace("_", " ").capitalize()
            prefix = "" if field == NON_FIELD_ERRORS else f"{label}: "
            form.add_error(None, [f"{prefix}{m}" for e in errors for m in e.messages])


def _formfield(field: models.Field, **kwargs: Any) -> forms.Field | None:
    # A web address typed without a scheme ("example.com") means https; said here rather
    # than left to a transitional setting that Django 6 removes.
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


def _users() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class DirectoryFilterForm(forms.Form):
    """The directory's GET filters. Every field is optional; a bad value is reported and
    ignored rather than emptying the page."""

    q = forms.CharField(label="Name", required=False, max_length=200)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *PartnerKind.choices], required=False,
                             widget=Select)
    category = forms.ChoiceField(
        choices=[("", "Any category"), *BusinessCategory.choices], required=False,
        widget=Select,
    )
    stage = forms.ChoiceField(choices=[("", "Any stage"), *Stage.choices], required=False,
                              widget=Select)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False,
                                   empty_label="Anyone", widget=Select)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _users()
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off"})

    def filters(self) -> dict[str, Any]:
        """The valid filters, as keyword arguments for selectors.partners_directory."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q") or "",
            "kind": data.get("kind") or "",
            "category": data.get("category") or "",
            "stage": data.get("stage") or "",
            "owner": data.get("owner"),
        }


class PartnerForm(forms.ModelForm):
    """Create and edit a partner. Tags are typed as "gym, sports medicine"; the tags are
    made as needed by services.tags_ensure."""

    error_css_class = "field-error"
    required_css_class = "required"

    tags_text = forms.CharField(
        label="Tags", required=False, max_length=500,
        help_text="Separate tags with commas, e.g. sports medicine, lunch-and-learn.",
    )

    # Shown as fieldsets, in this order; every field of Meta.fields appears once.
    GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("Who", ("name", "kind", "category", "organization", "npi", "taxonomy_code")),
        ("Reach", ("phone", "fax", "email", "website", "address_line", "city", "state",
                   "zip_code")),
        ("Relationship", ("stage", "owner", "preferred_channel", "cadence_days",
                          "do_not_contact", "tags_text", "notes")),
    )

    class Meta:
        model = Partner
        # Not here: patient (linked at intake, PHI), merged_into (only merges set it),
        # latitude/longitude (filled by geocoding, not typed).
        fields = [
            "name", "kind", "category", "organization", "npi", "taxonomy_code",
            "phone", "fax", "email", "website", "address_line", "city", "state", "zip_code",
            "stage", "owner", "preferred_channel", "cadence_days", "do_not_contact", "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        formfield_callback = _formfield

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        organizations = Partner.objects.live().filter(
            kind__in=[PartnerKind.MEDICAL_PRACTICE, PartnerKind.LOCAL_BUSINESS,
                      PartnerKind.COMMUNITY_ORG]
        )
        if self.instance.pk:
            organizations = organizations.exclude(pk=self.instance.pk)
            self.fields["tags_text"].initial = ", ".join(
                t.name for t in self.instance.tags.all()
            )
        self.fields["organization"].queryset = organizations.order_by("name")
        self.fields["owner"].queryset = _users()
        self.fields["owner"].empty_label = "Nobody yet"
        self.fields["npi"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})
        self.fields["state"].widget.attrs.update({"size": 2})

    def clean_tags_text(self) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        for raw in self.cleaned_data["tags_text"].split(","):
            name = " ".join(raw.split())
            if not name or name.casefold() in seen:
                continue
            if len(name) > TAG_MAX_LENGTH:
                raise ValidationError(
                    f"The tag \"{name[:20]}...\" is longer than {TAG_MAX_LENGTH} characters."
                )
            seen.add(name.casefold())
            names.append(name)
        return names

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments for partner_create / partner_update."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ContactForm(forms.ModelForm):
    error_css_class = "field-error"
    required_css_class = "required"

    class Meta:
        model = Contact
        fields = ["name", "title", "phone", "email", "is_primary", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class MergeSearchForm(forms.Form):
    """Step 1 of a merge: `q` finds candidates; a chosen `duplicate` moves on to step 2."""

    q = forms.CharField(label="Name of the duplicate", required=False, max_length=200)
    duplicate = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"type": "search", "autocomplete": "off",
                                              "autofocus": True})
