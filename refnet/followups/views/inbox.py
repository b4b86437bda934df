"""The inbox: one's follow-ups (overdue, due today, upcoming) and the four things one does
with them. Actions answer htmx with the row gone (plus refreshed counts and a status line)
or the row again with its error; without JavaScript they redirect back to the inbox.

Patient names appear only for roles with PATIENTS_VIEW, and every page that shows them
writes the audit trail first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction, User
from refnet.accounts.permissions import Cap, has_cap, requires

from .. import selectors, services
from ..models import DoneHow, FollowUp

# ---- forms (small, so they live next to the only views that use them) ----


class DoneForm(forms.Form):
    how = forms.ChoiceField(
        label="How", choices=[(v, lbl) for v, lbl in DoneHow.choices if v != DoneHow.AUTO_SENT],
        error_messages={"required": "Say how it was done: called, sent, met or other."},
    )
    note = forms.CharField(label="Note", required=False, max_length=2000)


class SkipForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=300,
        error_messages={"required": "Say why this follow-up is skipped."},
    )


class SnoozeForm(forms.Form):
    until = forms.DateField(label="Until", error_messages={
        "required": "Choose a day to snooze to.", "invalid": "Enter the day as YYYY-MM-DD.",
    })


class ReassignForm(forms.Form):
    to = forms.ModelChoiceField(
        label="To", queryset=selectors.assignable_users(),
        error_messages={"required": "Choose who takes this follow-up.",
                        "invalid_choice": "Choose an active user."},
    )


# ---- helpers ----


def _next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def snooze_choices(today: date) -> list[tuple[str, str]]:
    """The two one-click snoozes: the next working day and next Monday."""
    tomorrow = _next_business_day(today)
    monday = today + timedelta(days=7 - today.weekday())
    first = ("Tomorrow" if tomorrow == today + timedelta(days=1)
             else tomorrow.strftime("%A"))
    out = [(tomorrow.isoformat(), f"{first} ({tomorrow.month}/{tomorrow.day})")]
    if monday != tomorrow:
        out.append((monday.isoformat(), f"Next week (Mon {monday.month}/{monday.day})"))
    return out


def _compose_url() -> str | None:
    # The compose page belongs to the outbox app; until it exists the button stays hidden.
    try:
        return reverse("outbox:compose")
    except NoReverseMatch:
        return None


def _view_params(source: Any) -> dict[str, str]:
    """Which inbox the person is looking at: who (me, all, none, a user id) and days."""
    params = {}
    who = str(source.get("who", "")).strip()
    if who and (who in ("all", "none") or who.isdigit()):
        params["who"] = who
    days = str(source.get("days", "")).strip()
    if days.isdigit():
        params["days"] = days
    return params


def _inbox_url(params: dict[str, str]) -> str:
    url = reverse("followups:inbox")
    return f"{url}?{urlencode(params)}" if params else url


def _row_context(request: HttpRequest, params: dict[str, str]) -> dict[str, Any]:
    user = request.user
    return {
        "show_patients": has_cap(user, Cap.PATIENTS_VIEW),
        "show_referral_link": has_cap(user, Cap.REFERRALS_VIEW),
        "may_send": has_cap(user, Cap.MESSAGES_SEND),
        "compose_url": _compose_url(),
        "assignees": list(selectors.assignable_users()),
        "snooze_choices": snooze_choices(timezone.localdate()),
        "min_snooze": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "view_params": params,
    }


def _audit_rows(request: HttpRequest, rows: list[FollowUp], what: str) -> None:
    if not has_cap(request.user, Cap.PATIENTS_VIEW):
        return  # the page shows no patient to this role
    ids = [f.referral.patient_id for f in rows if f.referral_id]
    if ids:
        audit_patients(request=request, patient_ids=ids, action=AuditAction.VIEW, what=what)


def _chosen_owner(request: HttpRequest, who: str) -> tuple[str, User | None]:
    """("mine" | "all" | "owner", the owner whose inbox is shown)."""
    user = request.user
    if not has_cap(user, Cap.FOLLOWUPS_ALL) or who in ("", "me", str(user.pk)):
        return "mine", user
    if who == "all":
        return "all", None
    if who == "none":
        return "owner", None
    owner = get_user_model().objects.filter(pk=int(who)).first()
    if owner is None:
        raise Http404
    return "owner", owner


# ---- pages ----


@requires(Cap.FOLLOWUPS)
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    params = _view_params(request.GET)
    mode, owner = _chosen_owner(request, params.get("who", ""))
    days = int(params.get("days", selectors.UPCOMING_DAYS))
    context: dict[str, Any] = {"nav": "inbox", "mode": mode, "owner": owner,
                               **_row_context(request, params)}
    if mode == "all":
        summaries = selectors.inbox_everyone()
        rows = [f for s in summaries for f in s.rows]
        recent = selectors.recently_closed(everyone=True)
        context.update(summaries=summaries,
                       overdue_total=sum(s.overdue for s in summaries),
                       today_total=sum(s.today for s in summaries))
    else:
        box = selectors.inbox_for(owner, upcoming_days=days)
        rows = box.all_rows()
        recent = selectors.recently_closed(owner)
        later_days = max(60, box.upcoming_days * 2)
        context.update(box=box, later_days=min(later_days, selectors.MAX_UPCOMING_DAYS))
    context.update(recent=recent, recent_days=selectors.RECENT_DAYS)
    _audit_rows(request, rows + recent, "followups:inbox")
    return render(request, "followups/inbox.html", context)


# ---- actions ----


def _act(
    request: HttpRequest, pk: int, form_class: type[forms.Form], prefix: str,
    do: Callable[[FollowUp, dict[str, Any]], str],
) -> HttpResponse:
    """Parse, act, answer: the shared shape of the four inbox actions."""
    followup = selectors.followup_for(request.user, pk)
    params = _view_params(request.POST)
    data = request.POST.copy()
    if form_class is SnoozeForm and not data.get("until"):
        data["until"] = data.get("until_date", "")  # the date box instead of a quick button
    form = form_class(data)
    error = ""
    done_text = ""
    if not form.is_valid():
        error = " ".join(f"{prefix}: {m}" for msgs in form.errors.values() for m in msgs)
    else:
        try:
            done_text = do(followup, form.cleaned_data)
        except ValidationError as e:
            error = f"{prefix}: " + " ".join(e.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, done_text)
        return redirect(_inbox_url(params))
    context = _row_context(request, params)
    if error:
        followup.refresh_from_db()
        rows = selectors.decorate([followup], timezone.localdate())
        _audit_rows(request, rows, f"followup:{followup.pk}")
        return render(request, "followups/_followup_row.html",
                      {**context, "f": followup, "error": error,
                       "show_owner": params.get("who") == "all"})
    mode, owner = _chosen_owner(request, params.get("who", ""))
    days = int(params.get("days", selectors.UPCOMING_DAYS))
    return render(request, "followups/_followup_gone.html", {
        **context,
        "status_text": done_text,
        "counts": (selectors.inbox_counts(owner, upcoming_days=days) if mode != "all"
                   else None),
        "nav_count": selectors.inbox_count(request.user),
    })


def _what(followup: FollowUp) -> str:
    return f"{selectors.KIND_SHORT.get(followup.kind, followup.kind)}" + (
        f" for {followup.partner}" if followup.partner_id else "")


@requires(Cap.FOLLOWUPS)
@require_POST
def followup_done(request: HttpRequest, pk: int) -> HttpResponse:
    def do(f: FollowUp, data: dict[str, Any]) -> str:
        services.followup_complete(followup=f, how=data["how"], note=data["note"],
                                   by=request.user)
        return f"Done: {_what(f)} ({DoneHow(data['how']).label.lower()})."

    return _act(request, pk, DoneForm, "Done", do)


@requires(Cap.FOLLOWUPS)
@require_POST
def followup_skip(request: HttpRequest, pk: int) -> HttpResponse:
    def do(f: FollowUp, data: dict[str, Any]) -> str:
        services.followup_skip(followup=f, reason=data["reason"], by=request.user)
        return f"Skipped: {_what(f)}."

    return _act(request, pk, SkipForm, "Skip", do)


@requires(Cap.FOLLOWUPS)
@require_POST
def followup_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    def do(f: FollowUp, data: dict[str, Any]) -> str:
        services.followup_snooze(followup=f, until=data["until"], by=request.user)
        day = data["until"]
        return f"Snoozed: {_what(f)}, until {day:%a} {day.month}/{day.day}."

    return _act(request, pk, SnoozeForm, "Snooze", do)


@requires(Cap.FOLLOWUPS)
@require_POST
def followup_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    def do(f: FollowUp, data: dict[str, Any]) -> str:
        services.followup_reassign(followup=f, to=data["to"], by=request.user)
        return f"Handed to {data['to']}: {_what(f)}."

    return _act(request, pk, ReassignForm, "Reassign", do)
