from django import forms

from refnet.accounts.models import Role

from .models import ApiResource


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Which integration will use it, e.g. "
                           "\"EHR interface engine\".")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.COORDINATOR,
                             help_text="The key may do what a user with this role may do.")
    can_read = forms.BooleanField(label="May read", required=False, initial=True)
    can_write = forms.BooleanField(label="May write", required=False)
    resources = forms.MultipleChoiceField(choices=ApiResource.choices,
                                          widget=forms.CheckboxSelectMultiple,
                                          help_text="What the key may touch.")
