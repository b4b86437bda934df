"""Reads for the plan page: each goal's progress and the steps due this week and month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpKind, FollowUpStatus

from .models import Goal, PlanItem


@dataclass
class Progress:
    on_time: int = 0
    late: int = 0  # done after its due date, or open and overdue
    open: int = 0

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.open


@dataclass
class Step:
    followup: FollowUp
    item: PlanItem


@dataclass
class PlanView:
    goals: list[Goal]
    progress: dict[int, Progress] = field(default_factory=dict)  # goal id -> progress
    overdue: list[Step] = field(default_factory=list)
    this_week: list[Step] = field(default_factory=list)
    this_month: list[Step] = field(default_factory=list)


def _item_id(key: str) -> int | None:
    parts = key.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def plan_view(now: datetime | None = None) -> PlanView:
    """Goals with their items, and every plan step (follow-up) counted: done on time,
    late, open. Steps due this week (Monday to Sunday) and later this month."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    goals = list(Goal.objects.select_related("owner").prefetch_related(
        Prefetch("items", queryset=PlanItem.objects.select_related("owner"))))
    items = {item.pk: item for goal in goals for item in goal.items.all()}
    view = PlanView(goals=goals, progress={g.pk: Progress() for g in goals})
    week_start = today - timedelta(days=today.weekday())
    week_end = _local_start(week_start + timedelta(days=7))
    month_end = _local_start(date(today.year + (today.month == 12), today.month % 12 + 1, 1))
    steps = (FollowUp.objects.filter(kind=FollowUpKind.PLAN_STEP, key__startswith="plan:")
             .exclude(status=FollowUpStatus.SKIPPED).select_related("assignee")
             .order_by("due_at", "id"))
    for followup in steps:
        item = items.get(_item_id(followup.key) or 0)
        if item is None:
            continue
        progress = view.progress[item.goal_id]
        if followup.status == FollowUpStatus.DONE:
            if followup.completed_at and followup.completed_at <= followup.original_due_at:
                progress.on_time += 1
            else:
                progress.late += 1
            continue
        step = Step(followup=followup, item=item)
        if followup.due_at < now:
            progress.late += 1
            view.overdue.append(step)
        else:
            progress.open += 1
            if followup.due_at < week_end:
                view.this_week.append(step)
            elif followup.due_at < month_end:
                view.this_month.append(step)
    for goal in goals:
        goal.progress = view.progress[goal.pk]  # type: ignore[attr-defined]  # for templates
    return view
