from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code", max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text",
                                      "autofocus": True, "spellcheck": "false"}),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).lower()


class ResetForm(forms.Form):
    reason = forms.CharField(label="Why", max_length=300,
                             help_text="For the record, e.g. “lost phone, confirmed in person”.")
