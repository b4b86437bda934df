"""Filters of the dashboard and of the report pages, read from the query string.

A wrong value is reported next to its field and the page still renders with the defaults
for that field (a manager who mistyped a date sees why, not a server error).
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from refnet.accounts.models import Role
from refnet.partners.models import BusinessCategory, PartnerKind
from refnet.practice.models import Location, ServiceLine
from refnet.referrals.forms import DATE_FORMATS, DateInput
from refnet.widgets import Select

DATE_ERROR = "Enter a date like 2025-03-31 (year-month-day)."


def month_start(day: date, shift: int = 0) -> date:
    """The first day of the month `shift` months after (before, if negative) `day`'s."""
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class DashboardFilterForm(forms.Form):
    """The dashboard's month (YYYY-MM, default this month) and location."""

    month = forms.CharField(required=False, max_length=7, label="Month",
                            widget=forms.TextInput(attrs={"type": "month"}))
    location = forms.ModelChoiceField(queryset=Location.objects.all(), required=False,
                                      empty_label="All locations", widget=Select)

    def clean_month(self) -> date | None:
        text = self.cleaned_data.get("month", "").strip()
        if not text:
            return None
        try:
            year, month = (int(part) for part in text.split("-"))
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError("Enter a month like 2025-03 (year-month).") from None

    def chosen_month(self, today: date) -> date:
        return (self.cleaned_data.get("month") if self.is_valid() else None) \
            or month_start(today)


PERIODS = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_12_months", "Last 12 months"),
]
GRANULARITIES = [("day", "Day"), ("week", "Week"), ("month", "Month"), ("quarter", "Quarter")]


def period_dates(period: str, today: date) -> tuple[date, date]:
    """Whole calendar periods around `today` (practice-local), first and last day included."""
    if period == "this_month":
        return month_start(today), month_end(today)
    if period == "last_month":
        start = month_start(today, -1)
        return start, month_end(start)
    if period == "this_quarter":
        start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return start, month_end(month_start(start, 2))
    # last 12 months: this month and the eleven before it
    return month_start(today, -11), month_end(today)


def _owner_choices() -> list[tuple[str, str]]:
    # Partner owners are staff who do outreach; front-desk clerks own nobody.
    users = get_user_model().objects.filter(is_active=True).exclude(
        role=Role.FRONT_DESK).order_by("first_name", "username")
    return [("", "Any owner")] + [
        (str(u.pk), u.get_full_name() or u.username) for u in users
    ]


class ReportFilterForm(forms.Form):
    """One report's filters. `by_choices` (the report's breakdowns), when given, adds a
    "Break down by" choice."""

    period = forms.ChoiceField(choices=PERIODS, required=False, initial="last_12_months",
                               widget=Select)
    start = forms.DateField(required=False, label="From", input_formats=DATE_FORMATS,
                            widget=DateInput(), error_messages={"invalid": DATE_ERROR})
    end = forms.DateField(required=False, label="To", input_formats=DATE_FORMATS,
                          widget=DateInput(), error_messages={"invalid": DATE_ERROR})
    granularity = forms.ChoiceField(choices=GRANULARITIES, required=False, initial="month",
                                    widget=Select)
    location = forms.ModelChoiceField(queryset=Location.objects.all(), required=False,
                                      empty_label="All locations", widget=Select)
    service_line = forms.ModelChoiceField(queryset=ServiceLine.objects.all(), required=False,
                                          empty_label="All service lines", widget=Select)
    partner_kind = forms.ChoiceField(choices=[("", "All kinds"), *PartnerKind.choices],
                                     required=False, label="Partner kind", widget=Select)
    category = forms.ChoiceField(choices=[("", "All categories"), *BusinessCategory.choices],
                                 required=False, widget=Select)
    owner = forms.ChoiceField(required=False, label="Owner", widget=Select)

    def __init__(self, *args: Any, by_choices: list[tuple[str, str]] | None = None,
                 granularities: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _owner_choices()
        if granularities == []:
            del self.fields["granularity"]  # the report is per period, not over time
        elif granularities is not None:
            self.fields["granularity"].choices = [
                g for g in GRANULARITIES if g[0] in granularities]
        if by_choices:
            self.fields["by"] = forms.ChoiceField(choices=by_choices, required=False,
                                                  label="Break down by", widget=Select)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None) and not self.errors:
            missing = "end" if start else "start"
            self.add_error(missing, "Enter both dates, or pick a period above.")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        elif start and end and (end - start).days > 3660:
            self.add_error("start", "Choose at most ten years.")
        return data

    def dates(self, today: date) -> tuple[date, date]:
        """The period asked for: the dates typed in, else the preset, else the last 12
        months (also when a date is wrong; the error is shown next to the field)."""
        data = getattr(self, "cleaned_data", {})
        dates_wrong = any(name in self.errors for name in ("start", "end"))
        if data.get("start") and data.get("end") and not dates_wrong:
            return data["start"], data["end"]
        return period_dates(data.get("period") or "last_12_months", today)


def today_local() -> date:
    return timezone.localdate()
