"""Forms for templates and composing. They parse input; the privacy guard and the writes
live in outbox.rendering and outbox.compose."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from .models import Audience, MessageChannel, MessageTemplate, Purpose


def add_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's ValidationError on the field it names, else at the top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        if field in form.fields and field != NON_FIELD_ERRORS:
            form.add_error(field, errors)
        else:
            form.add_error(None, [m for e in errors for m in e.messages])


class TemplateForm(forms.ModelForm):
    """Edit a template's text. Purpose, channel and audience are chosen when it is created
    and fixed afterwards: the rows a rule looks for stay where it looks."""

    class Meta:
        model = MessageTemplate
        fields = ["purpose", "channel", "audience", "subject", "body", "is_active"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}),
        }
        labels = {"is_active": "Active (used when messages are sent)"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("purpose", "channel", "audience"):
                self.fields[name].disabled = True
        self.fields["subject"].required = False

    def validate_unique(self) -> None:
        # template_save reports a clash on the purpose field, with a clearer message.
        return


class PreviewForm(forms.Form):
    """What the editor's live preview posts: the text being typed and where it goes."""

    audience = forms.ChoiceField(choices=Audience.choices)
    channel = forms.ChoiceField(choices=MessageChannel.choices)
    subject = forms.CharField(required=False, max_length=200)
    body = forms.CharField(required=False, strip=False)


class ComposeForm(forms.Form):
    """The compose page's choices: who, about what, by which channel. The view checks that
    each id points at something the user may use."""

    followup = forms.IntegerField(required=False, min_value=1)
    partner = forms.IntegerField(required=False, min_value=1)
    contact = forms.IntegerField(required=False, min_value=1)
    referral = forms.IntegerField(required=False, min_value=1)
    purpose = forms.ChoiceField(choices=Purpose.choices, required=False)
    channel = forms.ChoiceField(choices=MessageChannel.choices, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("followup") and not data.get("partner"):
            raise ValidationError({"partner": "Choose the partner to write to (or open the "
                                              "page from a follow-up)."})
        if not data.get("followup") and not data.get("purpose"):
            raise ValidationError({"purpose": "Choose what the message is for."})
        return data
