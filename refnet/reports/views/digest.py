"""The digest settings page: weekly, monthly or off, and a preview of the next digest.

Each user sets only their own subscription, so there is no object to look up and nothing
another user could reach. The preview shows the period in progress, figures so far.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from refnet.accounts.permissions import Cap, requires
from refnet.reports import digest as digests
from refnet.reports.models import DigestFrequency


class DigestForm(forms.Form):
    frequency = forms.ChoiceField(
        label="Send me a digest",
        choices=[*DigestFrequency.choices, (digests.OFF, "Off: no digest")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose weekly, monthly or off.",
                        "invalid_choice": "Choose weekly, monthly or off."},
    )


@requires(Cap.REPORTS_VIEW)
@require_http_methods(["GET", "POST"])
def digest_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = DigestForm(request.POST)
        if form.is_valid():
            try:
                digests.digest_subscription_set(user=user,
                                                frequency=form.cleaned_data["frequency"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                chosen = form.cleaned_data["frequency"]
                messages.success(request, "Your digest is off." if chosen == digests.OFF
                                 else f"You will get a {chosen} digest.")
                return redirect("reports:digest")
    else:
        form = DigestForm(initial={"frequency": digests.digest_frequency(user)})
    frequency = digests.digest_frequency(user)
    now = timezone.now()
    # Preview what the chosen frequency (weekly when off) would bring next.
    period = digests.period_next(
        frequency if frequency != digests.OFF else DigestFrequency.WEEKLY, now)
    preview = digests.digest_build(user=user, period=period, now=now)
    return render(request, "reports/digest_settings.html", {
        "form": form, "frequency": frequency, "period": period,
        "sends_at": period.sends_at(), "has_email": bool(user.email),
        "preview_subject": preview.subject,
        "preview": digests.digest_html(preview, standalone=False),
    })
