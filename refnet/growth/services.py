"""Writing the growth plan and scheduling its steps.

Each item's current occurrence is a follow-up (kind PLAN_STEP, key
f"plan:{item.pk}:{due date}") in the owner's inbox. plan_tick (run by `refnet worker`
every tick) looks at each active item's current occurrence:

1. None yet (a new item, or its date was changed): create it.
2. Still open: nothing to do.
3. Done or skipped: a one-off item is finished; a weekly or monthly one moves to its next
   due date and that occurrence is created. The key makes this idempotent: a second tick,
   or two workers, find the occurrence already there.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from refnet.accounts.models import Role, User
from refnet.followups.models import FollowUp, FollowUpKind, FollowUpRule, FollowUpStatus, RuleKind
from refnet.followups.services import followup_reassign, followup_skip, followup_task_create
from refnet.partners.models import BusinessCategory, Partner, Stage

from .models import Cadence, Goal, GoalStatus, PlanItem

log = logging.getLogger("refnet.growth")

QUIET_DAYS = 90


# ---- dates ------------------------------------------------------------------------------

def month_day(year: int, month: int, day: int) -> date:
    """The day in that month, or its last day when the month is shorter (31 -> Feb 28)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def next_due_after(due: date, cadence: str, anchor_day: int) -> date | None:
    """The occurrence after `due`: a week later, the anchor day of the next month, or
    None for a one-off item."""
    if cadence == Cadence.WEEKLY:
        return due + timedelta(days=7)
    if cadence == Cadence.MONTHLY:
        year, month = (due.year + 1, 1) if due.month == 12 else (due.year, due.month + 1)
        return month_day(year, month, anchor_day)
    return None


# ---- goals ------------------------------------------------------------------------------

def goal_save(*, by: User | None, goal: Goal | None = None, title: str, why: str = "",
              target_number: int | None = None, target_metric: str = "",
              owner: User | None = None, due: date | None = None,
              status: str = GoalStatus.ACTIVE) -> Goal:
    if status not in GoalStatus.values:
        raise ValidationError({"status": f"{status!r} is not a goal status."})
    goal = goal or Goal(created_by=by, position=(Goal.objects.aggregate(
        m=Max("position"))["m"] or 0) + 1)
    goal.title = (title or "").strip()
    goal.why = (why or "").strip()
    goal.target_number = target_number
    goal.target_metric = (target_metric or "").strip()
    goal.owner = owner
    goal.due = due
    goal.status = status
    if goal.target_number is not None and not goal.target_metric:
        raise ValidationError({"target_metric": "Say what the target number counts."})
    with transaction.atomic():
        goal.full_clean(exclude=["created_by", "owner"])
        goal.save()
        if status != GoalStatus.ACTIVE:
            for item in goal.items.filter(active=True):
                _stop(item, by=by, reason=f"Goal {goal.get_status_display().lower()}.")
    return goal


def goal_delete(*, goal: Goal, by: User | None) -> None:
    with transaction.atomic():
        for item in goal.items.all():
            _close_open_occurrence(item, by=by, reason="Removed from the growth plan.")
        goal.delete()


# ---- items ------------------------------------------------------------------------------

def _occurrence(item: PlanItem) -> FollowUp | None:
    return FollowUp.objects.filter(key=item.occurrence_key(item.next_due)).first()


def _close_open_occurrence(item: PlanItem, *, by: User | None, reason: str) -> None:
    occurrence = _occurrence(item)
    if occurrence is not None and occurrence.status == FollowUpStatus.OPEN:
        followup_skip(followup=occurrence, reason=reason, by=by)


def _schedule(item: PlanItem, *, by: User | None) -> tuple[FollowUp, bool]:
    return followup_task_create(
        kind=FollowUpKind.PLAN_STEP, summary=item.title[:300],
        assignee=item.owner, due_at=item.next_due, by=by,
        key=item.occurrence_key(item.next_due), note=item.notes[:1000])


def _stop(item: PlanItem, *, by: User | None, reason: str) -> None:
    _close_open_occurrence(item, by=by, reason=reason)
    item.active = False
    item.save(update_fields=["active"])


def item_save(*, by: User | None, goal: Goal, item: PlanItem | None = None, title: str,
              owner: User | None, cadence: str, next_due: date | None, notes: str = "",
              active: bool = True) -> PlanItem:
    """Add or change a checklist item. A new date moves the step in the owner's inbox (the
    old one is closed as skipped, "plan changed"); a new owner gets the open step."""
    errors = {}
    if not (title or "").strip():
        errors["title"] = "Say what is to be done."
    if owner is None or not owner.is_active:
        errors["owner"] = "Choose an active user to own this item."
    if cadence not in Cadence.values:
        errors["cadence"] = f"{cadence!r} is not a cadence: once, weekly or monthly."
    if not isinstance(next_due, date):
        errors["next_due"] = "Give the date it is (next) due."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if item is None:
            item = PlanItem(goal=goal, position=(goal.items.aggregate(m=Max("position"))["m"]
                                                 or 0) + 1)
        else:
            item = PlanItem.objects.select_for_update().get(pk=item.pk)
            moved = item.next_due != next_due or not active
            if moved:
                why = "Plan changed: no longer active." if not active else \
                    f"Plan changed: now due {next_due:%b %-d, %Y}."
                _close_open_occurrence(item, by=by, reason=why)
            elif item.owner_id != owner.pk:
                occurrence = _occurrence(item)
                if occurrence is not None and occurrence.status == FollowUpStatus.OPEN:
                    followup_reassign(followup=occurrence, to=owner, by=by)
            if moved and active:
                item.finished_at = None
        item.goal = goal
        item.title = title.strip()
        item.owner = owner
        item.cadence = cadence
        item.next_due = next_due
        item.anchor_day = next_due.day
        item.notes = (notes or "").strip()
        item.active = active
        item.full_clean(exclude=["goal", "owner"])
        item.save()
        if item.active and item.finished_at is None and goal.status == GoalStatus.ACTIVE:
            _schedule(item, by=by)
    return item


def item_delete(*, item: PlanItem, by: User | None) -> None:
    with transaction.atomic():
        _close_open_occurrence(item, by=by, reason="Removed from the growth plan.")
        item.delete()


def plan_advance(*, item: PlanItem, by: User | None = None,
                 now: datetime | None = None) -> str:
    """Bring one item's occurrence up to date (see the module docstring). Returns what
    happened: "created", "open", "next", "finished" or "idle"."""
    now = now or timezone.now()
    with transaction.atomic():
        item = PlanItem.objects.select_for_update().select_related("owner", "goal").get(
            pk=item.pk)
        if not item.active or item.finished_at is not None \
                or item.goal.status != GoalStatus.ACTIVE:
            return "idle"
        occurrence = _occurrence(item)
        if occurrence is None:
            if not item.owner.is_active:
                return "idle"  # a manager has to give it a new owner first
            _schedule(item, by=by)
            return "created"
        if occurrence.status == FollowUpStatus.OPEN:
            return "open"
        following = next_due_after(item.next_due, item.cadence, item.anchor_day)
        if following is None:
            item.finished_at = occurrence.completed_at or now
            item.save(update_fields=["finished_at"])
            return "finished"
        item.next_due = following
        item.save(update_fields=["next_due"])
        if item.owner.is_active:
            _schedule(item, by=by)
        return "next"


def plan_tick(now: datetime | None = None) -> dict[str, int]:
    """Schedule the next occurrence of every item whose current one was closed."""
    now = now or timezone.now()
    counts = {"plan_steps": 0, "plan_items_finished": 0}
    items = PlanItem.objects.filter(active=True, finished_at=None,
                                    goal__status=GoalStatus.ACTIVE)
    for item in items:
        try:
            result = plan_advance(item=item, now=now)
        except Exception:
            log.exception("growth plan item %s failed; will try again next tick", item.pk)
            continue
        if result in ("created", "next"):
            counts["plan_steps"] += 1
        elif result == "finished":
            counts["plan_items_finished"] += 1
    return counts


# ---- the starter plan -------------------------------------------------------------------

@dataclass(frozen=True)
class PracticeSituation:
    partners: int
    partners_without_owner: int
    gym_partners: int
    quiet_partners: int
    # The thank-you rules were reviewed by someone (not just the built-in defaults).
    has_thank_you_rule: bool


def practice_situation(now: datetime | None = None) -> PracticeSituation:
    now = now or timezone.now()
    live = Partner.objects.live().exclude(stage=Stage.DECLINED)
    quiet = live.filter(stage__in=[Stage.ACTIVE, Stage.ENGAGED, Stage.DORMANT]).annotate(
        last=Max("referrals__received_at",  # removed referrals do not count
                 filter=Q(referrals__removed_at__isnull=True))).filter(
        Q(stage=Stage.DORMANT) | Q(last__lt=now - timedelta(days=QUIET_DAYS)))
    return PracticeSituation(
        partners=live.count(),
        partners_without_owner=live.filter(owner__isnull=True).count(),
        gym_partners=live.filter(category=BusinessCategory.GYM_TRAINER).exclude(
            stage=Stage.PROSPECT).count(),
        quiet_partners=quiet.count(),
        has_thank_you_rule=FollowUpRule.objects.filter(
            kind=RuleKind.THANK_REFERRER, enabled=True, updated_by__isnull=False).exists(),
    )


def _first_user(role: str, fallback: User) -> User:
    return User.objects.filter(role=role, is_active=True).order_by("id").first() or fallback


def _first_of_next_month(today: date) -> date:
    return month_day(today.year + (today.month == 12), today.month % 12 + 1, 1)


def plan_start(*, by: User, situation: PracticeSituation,
               today: date | None = None) -> list[Goal]:
    """A starter plan drawn from the practice's situation, for a manager to edit. Refused
    when the practice already has a plan."""
    today = today or timezone.localdate()
    manager = by if by.role in (Role.MANAGER, Role.ADMIN) else _first_user(Role.MANAGER, by)
    outreach = _first_user(Role.OUTREACH, manager)
    week = today + timedelta(days=7)
    fortnight = today + timedelta(days=14)
    month = _first_of_next_month(today)
    plan: list[tuple[dict, list[tuple[str, User, str, date]]]] = []

    capture = [("Train the front desk to ask “Who can we thank?” of every new patient",
                manager, Cadence.ONCE, week)]
    if not situation.has_thank_you_rule:
        capture.append(("Set up the thank-you rules: who thanks each kind of referrer, "
                        "within how many days", manager, Cadence.ONCE, fortnight))
    capture.append(("Run the monthly referral report and go through it with the team",
                    manager, Cadence.MONTHLY, month))
    plan.append(({"title": "Capture and thank every referral",
                  "why": "A referral we do not record is a partner we cannot thank.",
                  "owner": manager}, capture))

    if situation.partners_without_owner:
        n = situation.partners_without_owner
        plan.append(({"title": "Every partner has an accountable person",
                      "why": "Follow-ups go to the owner's inbox; without one, nobody "
                             "keeps the partner warm.",
                      "target_number": 0, "target_metric": "partners without an owner",
                      "owner": manager},
                     [(f"Assign the accountable person for the {n} partner"
                       f"{'s' if n != 1 else ''} without one", manager, Cadence.ONCE,
                       fortnight)]))

    local = [("Visit or call one referring clinician's office", outreach, Cadence.WEEKLY,
              week)]
    if situation.gym_partners < 3:
        local.insert(0, ("Contact three gyms' training supervisors", outreach,
                         Cadence.MONTHLY, week))
    if situation.quiet_partners:
        n = situation.quiet_partners
        local.append((f"Review the {n} partner{'s' if n != 1 else ''} gone quiet and "
                      "plan a check-in with each", outreach, Cadence.MONTHLY, month))
    goal_fields: dict = {"title": "Grow the referral network",
                         "why": "New partners, and partners who keep sending patients.",
                         "owner": outreach}
    if situation.gym_partners < 3:
        goal_fields.update(target_number=3, target_metric="gym partners")
    plan.append((goal_fields, local))

    with transaction.atomic():
        if Goal.objects.exists():
            raise ValidationError("The practice already has a growth plan: edit it.")
        goals = []
        for fields, items in plan:
            goal = goal_save(by=by, **fields)
            for title, owner, cadence, due in items:
                item_save(by=by, goal=goal, title=title, owner=owner, cadence=cadence,
                          next_due=due)
            goals.append(goal)
    return goals
