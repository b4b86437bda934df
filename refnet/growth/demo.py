"""Demo data: the starter plan, with its first step done."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from refnet.followups.models import DoneHow, FollowUp, FollowUpKind, FollowUpStatus
from refnet.followups.services import followup_complete

from .services import plan_start, plan_tick, practice_situation


def build_demo(*, practice, partners, now, rng, say) -> None:
    manager = practice.users["manager"]
    today = timezone.localdate(now) - timedelta(days=10)
    goals = plan_start(by=manager, situation=practice_situation(now), today=today)
    first = (FollowUp.objects.filter(kind=FollowUpKind.PLAN_STEP, status=FollowUpStatus.OPEN)
             .order_by("due_at", "id").first())
    if first is not None:
        followup_complete(followup=first, how=DoneHow.MET, by=first.assignee,
                          note="Done at the Monday huddle.")
    plan_tick(now=now)
    say(f"growth plan: {len(goals)} goals, "
        f"{FollowUp.objects.filter(kind=FollowUpKind.PLAN_STEP).count()} steps in inboxes")
