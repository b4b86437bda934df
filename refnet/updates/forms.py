from django import forms

from refnet.accounts.models import User
from refnet.partners.models import BusinessCategory, PartnerKind, Stage, Tag

from .models import UpdateKind

PLACEHOLDERS = ("{{ partner.name }}, {{ partner.greeting }}, {{ contact.name }}, "
                "{{ practice.name }}, {{ practice.phone }}, {{ practice.address }}, "
                "{{ location.name }}, {{ location.phone }}, {{ sender.name }}, {{ today }}")


class UpdateForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="The email subject when it goes alone.")
    kind = forms.ChoiceField(choices=UpdateKind.choices)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Plain text. You may use " + PLACEHOLDERS + ". Nothing about patients: "
                  "every partner, clinician or not, gets the same text.")
    kinds = forms.MultipleChoiceField(label="Kinds of partner", required=False,
                                      choices=PartnerKind.choices,
                                      widget=forms.CheckboxSelectMultiple,
                                      help_text="None ticked: every kind.")
    categories = forms.MultipleChoiceField(label="Business categories", required=False,
                                           choices=BusinessCategory.choices,
                                           widget=forms.CheckboxSelectMultiple)
    stages = forms.MultipleChoiceField(required=False, choices=Stage.choices,
                                       widget=forms.CheckboxSelectMultiple)
    owner = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True)
                                   .order_by("username"), required=False,
                                   empty_label="Anyone's partners")
    tags = forms.ModelMultipleChoiceField(queryset=Tag.objects.all(), required=False,
                                          widget=forms.CheckboxSelectMultiple)

    def audience(self) -> dict:
        data = self.cleaned_data
        return {"kinds": data["kinds"], "categories": data["categories"],
                "stages": data["stages"],
                "owner": data["owner"].pk if data["owner"] else None,
                "tags": [t.pk for t in data["tags"]]}

    @classmethod
    def initial_for(cls, update) -> dict:
        audience = update.audience or {}
        return {"title": update.title, "kind": update.kind, "body": update.body,
                "kinds": audience.get("kinds", []),
                "categories": audience.get("categories", []),
                "stages": audience.get("stages", []), "owner": audience.get("owner"),
                "tags": audience.get("tags", [])}
