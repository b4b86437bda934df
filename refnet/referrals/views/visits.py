"""Recording a visit of a referred patient (evaluation, treatment, discharge) from the
referral's page. Visits are what progress reports to the referring clinician count, so
visit_record also runs the follow-up rules."""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, requires

from .. import selectors
from ..models import VisitKind
from ..services import visit_record

# A visit entered by its date alone is placed at midday: inside the local day whatever the
# time zone offset, so every report groups it on the day the person typed.
VISIT_HOUR = 12


class VisitForm(forms.Form):
    day = forms.DateField(label="Date", error_messages={
        "required": "Enter the visit date.", "invalid": "Enter the visit date as YYYY-MM-DD.",
    })
    kind = forms.ChoiceField(label="Kind", choices=VisitKind.choices, initial=VisitKind.TREATMENT,
                             error_messages={"required": "Choose the kind of visit."})
    note = forms.CharField(label="Note", required=False, max_length=300)

    def clean_day(self):
        day = self.cleaned_data["day"]
        if day > timezone.localdate():
            raise ValidationError("The visit date cannot be in the future.")
        return day

    def visit_at(self) -> datetime:
        day = self.cleaned_data["day"]
        if day == timezone.localdate():
            return timezone.now()  # today: now, so it is never later than the present
        return timezone.make_aware(datetime.combine(day, time(VISIT_HOUR)))


@requires(Cap.REFERRALS_WORK)
@require_POST
def visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.get_referral_for(request.user, pk)
    form = VisitForm(request.POST)
    back = reverse("referrals:detail", args=[referral.pk]) + "#visits"
    if not form.is_valid():
        messages.error(request, "Visit not recorded: " + " ".join(
            f"{form.fields[name].label}: {m}" if name in form.fields else m
            for name, msgs in form.errors.items() for m in msgs))
        return redirect(back)
    try:
        visit = visit_record(referral=referral, at=form.visit_at(), kind=form.cleaned_data["kind"],
                             by=request.user, note=form.cleaned_data["note"])
    except ValidationError as e:
        messages.error(request, "Visit not recorded: " + " ".join(e.messages))
        return redirect(back)
    audit_patients(request=request, patient_ids=[referral.patient_id],
                   action=AuditAction.CREATE, what=f"referral:{referral.pk}:visit")
    messages.success(request, f"Recorded: {visit.get_kind_display()} on "
                              f"{timezone.localtime(visit.at):%m/%d/%Y}.")
    return redirect(back)
