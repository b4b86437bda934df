from django import forms

from refnet.accounts.models import User

from .models import Cadence, GoalStatus


def _users():
    return User.objects.filter(is_active=True).order_by("first_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class GoalForm(forms.Form):
    title = forms.CharField(max_length=200)
    why = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    target_number = forms.IntegerField(required=False, min_value=0)
    target_metric = forms.CharField(required=False, max_length=120,
                                    help_text="What the number counts, e.g. “gym partners”.")
    owner = UserChoiceField(queryset=_users(), required=False)
    due = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(choices=GoalStatus.choices, initial=GoalStatus.ACTIVE)


class ItemForm(forms.Form):
    title = forms.CharField(max_length=250)
    owner = UserChoiceField(queryset=_users())
    cadence = forms.ChoiceField(choices=Cadence.choices)
    next_due = forms.DateField(label="Due (next)",
                               widget=forms.DateInput(attrs={"type": "date"}),
                               help_text="Monthly items come back on the same day of the "
                                         "month (or the month's last day).")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(required=False, initial=True)
