"""What a person does with a follow-up from the inbox: done, skip, snooze, reassign.

Each function is one transaction that re-reads the follow-up under a row lock, so two
people acting on the same row (or the worker's auto-send racing a click) cannot both win:
the second one finds it no longer open and gets a clear message instead of overwriting.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from refnet.accounts.models import User

from .models import FOLLOWUP_TRANSITIONS, TASK_KINDS, DoneHow, FollowUp, FollowUpStatus

# A snooze to a day (not a time) lands at the start of that working day.
SNOOZE_HOUR = 8


def _lock_open(followup: FollowUp, *, to_status: str | None = None) -> FollowUp:
    locked = FollowUp.objects.select_for_update().get(pk=followup.pk)
    if locked.status != FollowUpStatus.OPEN or (
        to_status is not None and to_status not in FOLLOWUP_TRANSITIONS[locked.status]
    ):
        raise ValidationError(
            f"This follow-up is already {FollowUpStatus(locked.status).label.lower()}; "
            "nothing changed."
        )
    return locked


def _save(locked: FollowUp, original: FollowUp, *, by: User | None, fields: list[str]) -> FollowUp:
    locked._history_user = by  # type: ignore[attr-defined]  # simple_history: who did it
    locked.save(update_fields=fields)
    # The caller's instance shows the new state too (views render it right after).
    for name in fields:
        setattr(original, name, getattr(locked, name))
    return locked


def followup_complete(
    *, followup: FollowUp, how: str, note: str = "", by: User | None, message=None
) -> FollowUp:
    """Mark a follow-up done, saying how (called, sent, met...)."""
    if how not in DoneHow.values:
        raise ValidationError({"how": f"Unknown way of doing it: {how!r}."})
    with transaction.atomic():
        locked = _lock_open(followup, to_status=FollowUpStatus.DONE)
        locked.status = FollowUpStatus.DONE
        locked.done_how = how
        locked.note = note.strip()
        locked.completed_at = timezone.now()
        locked.completed_by = by
        fields = ["status", "done_how", "note", "completed_at", "completed_by"]
        if message is not None:
            locked.message = message
            fields.append("message")
        return _save(locked, followup, by=by, fields=fields)


def followup_skip(*, followup: FollowUp, reason: str, by: User | None) -> FollowUp:
    """Close a follow-up without doing it. The reason is required: loop health reports
    count skips, and "why" is what a manager asks."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this follow-up is skipped."})
    if len(reason) > 300:
        raise ValidationError({"reason": "Keep the reason under 300 characters."})
    with transaction.atomic():
        locked = _lock_open(followup, to_status=FollowUpStatus.SKIPPED)
        locked.status = FollowUpStatus.SKIPPED
        locked.skip_reason = reason
        locked.completed_at = timezone.now()
        locked.completed_by = by
        return _save(locked, followup, by=by,
                     fields=["status", "skip_reason", "completed_at", "completed_by"])


def snooze_until(day: date) -> datetime:
    """The aware due time a snooze to `day` (a local date) sets."""
    return timezone.make_aware(datetime.combine(day, time(SNOOZE_HOUR)))


def followup_snooze(*, followup: FollowUp, until: datetime | date, by: User | None) -> FollowUp:
    """Move the due time later. `original_due_at` keeps what the rule promised, so snoozing
    never hides a late follow-up from the loop-health figures."""
    if not isinstance(until, datetime):
        if until <= timezone.localdate():
            raise ValidationError({"until": "Snooze to a day after today."})
        until = snooze_until(until)
    elif until <= timezone.now():
        raise ValidationError({"until": "Snooze to a time in the future."})
    with transaction.atomic():
        locked = _lock_open(followup)
        locked.due_at = until
        return _save(locked, followup, by=by, fields=["due_at"])


def followup_reassign(*, followup: FollowUp, to: User, by: User | None) -> FollowUp:
    """Hand a follow-up to someone else."""
    # Re-read the user: an account deactivated since the form was drawn is refused too.
    if to is None or not get_user_model().objects.filter(pk=to.pk, is_active=True).exists():
        raise ValidationError({"to": "Choose an active user to hand this follow-up to."})
    with transaction.atomic():
        locked = _lock_open(followup)
        if locked.assignee_id == to.pk:
            raise ValidationError({"to": f"It is already with {to}."})
        locked.assignee = to
        return _save(locked, followup, by=by, fields=["assignee"])


def followup_task_create(
    *, kind: str, summary: str, assignee: User, due_at: datetime | date, by: User | None,
    partner=None, location=None, key: str | None = None, note: str = "",
) -> tuple[FollowUp, bool]:
    """Schedule a task in someone's inbox: a step in courting a prospect, an outreach event
    or the growth plan (TASK_KINDS). With a `key`, calling again returns the same task
    (created False) instead of a second one. `summary` must not name a patient."""
    if kind not in TASK_KINDS:
        raise ValidationError({"kind": f"{kind!r} is not a task kind; rules make the others."})
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": "Say what is to be done."})
    if len(summary) > 300:
        raise ValidationError({"summary": "Keep the summary under 300 characters."})
    if assignee is None or not assignee.is_active:
        raise ValidationError({"assignee": "Choose an active user to do this."})
    if not isinstance(due_at, datetime):
        due_at = timezone.make_aware(datetime.combine(due_at, time(17)))
    key = key or f"{kind}:{uuid.uuid4().hex}"
    if len(key) > 120:
        raise ValidationError({"key": "A follow-up key is at most 120 characters."})
    with transaction.atomic():
        existing = FollowUp.objects.filter(key=key).first()
        if existing is not None:
            return existing, False
        task = FollowUp(key=key, kind=kind, partner=partner, location=location,
                        assignee=assignee, due_at=due_at, original_due_at=due_at,
                        summary=summary, note=note.strip())
        task._history_user = by  # type: ignore[attr-defined]
        task.save()
        return task, True
