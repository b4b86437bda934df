"""Inbox reads: one person's open follow-ups in three groups (overdue, due today, upcoming),
everyone's by owner for a manager, and what was closed lately.

Groups are by the practice's local date (settings.TIME_ZONE), not UTC: a follow-up due at
11 pm is due today until local midnight. Boundaries are aware datetimes so the partial
index on open follow-ups (assignee, due_at) does the work; a __date lookup would not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from refnet.accounts.models import User
from refnet.accounts.permissions import Cap, has_cap
from refnet.prepared import prepared_cursor

from .models import FollowUp, FollowUpKind, FollowUpStatus, RuleKind

UPCOMING_DAYS = 14  # the Upcoming group's default horizon
MAX_UPCOMING_DAYS = 366
GROUP_LIMIT = 100  # rows drawn per group; the header count is always the full count
EVERYONE_ROWS_PER_OWNER = 15
RECENT_DAYS = 7

# Kinds that have a message to send from the inbox (ask_source is a question for the
# patient at the desk, not a message to a partner).
MESSAGE_KINDS = frozenset({RuleKind.THANK_REFERRER, RuleKind.OUTCOME_UPDATE,
                           RuleKind.PROGRESS_REPORT, RuleKind.CHECK_IN, RuleKind.REENGAGE})


# Short labels for the inbox rows; the model's labels are written for settings pages.
KIND_SHORT = {
    RuleKind.THANK_REFERRER: "Thank-you",
    RuleKind.OUTCOME_UPDATE: "Outcome update",
    RuleKind.PROGRESS_REPORT: "Progress report",
    RuleKind.CHECK_IN: "Check-in",
    RuleKind.REENGAGE: "Re-engage",
    RuleKind.ASK_SOURCE: "Ask the source",
    FollowUpKind.PROSPECT: "Prospect",
    FollowUpKind.EVENT: "Event",
    FollowUpKind.PLAN_STEP: "Growth plan",
    FollowUpKind.TASK: "Task",
}


def day_start(day: date) -> datetime:
    """Local midnight at the start of `day`, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Bounds:
    today: date
    today_start: datetime
    tomorrow_start: datetime
    horizon_end: datetime  # end of the Upcoming group

    @classmethod
    def at(cls, now: datetime | None = None, upcoming_days: int = UPCOMING_DAYS) -> Bounds:
        today = timezone.localdate(now or timezone.now())
        return cls(
            today=today,
            today_start=day_start(today),
            tomorrow_start=day_start(today + timedelta(days=1)),
            horizon_end=day_start(today + timedelta(days=1 + upcoming_days)),
        )


@dataclass
class Group:
    key: str  # overdue | today | upcoming
    title: str
    count: int
    rows: list[FollowUp] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.rows)


@dataclass
class Inbox:
    owner: User | None  # None: the unassigned follow-ups
    groups: list[Group]
    later: int  # open follow-ups due after the Upcoming horizon
    upcoming_days: int

    @property
    def overdue(self) -> Group:
        return self.groups[0]

    @property
    def today(self) -> Group:
        return self.groups[1]

    @property
    def upcoming(self) -> Group:
        return self.groups[2]

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    def all_rows(self) -> list[FollowUp]:
        return [f for g in self.groups for f in g.rows]


def due_text(due_at: datetime, today: date) -> str:
    """How a busy person reads a due time: "2 days overdue", "due today", "in 3 days (Thu)"."""
    due_day = timezone.localdate(due_at)
    days = (today - due_day).days
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} overdue"
    if days == 0:
        return "due today"
    ahead = -days
    weekday = due_day.strftime("%a")
    if ahead == 1:
        return f"tomorrow ({weekday})"
    if ahead < 7:
        return f"in {ahead} days ({weekday})"
    return f"in {ahead} days ({weekday} {due_day.month}/{due_day.day})"


def _open() -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(status=FollowUpStatus.OPEN).select_related(
        "partner", "referral__patient", "assignee"
    )


def decorate(rows: list[FollowUp], today: date) -> list[FollowUp]:
    for f in rows:
        f.due_text = due_text(f.due_at, today)  # type: ignore[attr-defined]
        f.is_overdue = timezone.localdate(f.due_at) < today  # type: ignore[attr-defined]
        f.has_message = f.kind in MESSAGE_KINDS  # type: ignore[attr-defined]
        f.kind_short = KIND_SHORT.get(f.kind, f.kind)  # type: ignore[attr-defined]
        f.was_snoozed = f.due_at != f.original_due_at  # type: ignore[attr-defined]
    return rows


def _counts(qs: QuerySet[FollowUp], b: Bounds) -> dict[str, int]:
    return qs.aggregate(
        overdue=Count("id", filter=Q(due_at__lt=b.today_start)),
        today=Count("id", filter=Q(due_at__gte=b.today_start, due_at__lt=b.tomorrow_start)),
        upcoming=Count("id", filter=Q(due_at__gte=b.tomorrow_start, due_at__lt=b.horizon_end)),
        later=Count("id", filter=Q(due_at__gte=b.horizon_end)),
    )


def inbox_counts(owner: User | None, *, now: datetime | None = None,
                 upcoming_days: int = UPCOMING_DAYS) -> dict[str, int]:
    """The group header counts alone (after an action, to refresh them)."""
    return _counts(_owned(owner), Bounds.at(now, upcoming_days))


def _owned(owner: User | None) -> QuerySet[FollowUp]:
    return _open().filter(assignee__isnull=True) if owner is None else _open().filter(
        assignee=owner)


def inbox_for(
    owner: User | None, *, now: datetime | None = None, upcoming_days: int = UPCOMING_DAYS,
    limit: int = GROUP_LIMIT,
) -> Inbox:
    """One person's open follow-ups (owner=None: the unassigned ones), grouped by local date,
    each group in due order, at most `limit` rows drawn per group."""
    upcoming_days = max(1, min(upcoming_days, MAX_UPCOMING_DAYS))
    b = Bounds.at(now, upcoming_days)
    qs = _owned(owner)
    counts = _counts(qs, b)
    spans = [
        ("overdue", "Overdue", Q(due_at__lt=b.today_start)),
        ("today", "Due today", Q(due_at__gte=b.today_start, due_at__lt=b.tomorrow_start)),
        ("upcoming", f"Upcoming: next {upcoming_days} days",
         Q(due_at__gte=b.tomorrow_start, due_at__lt=b.horizon_end)),
    ]
    groups = []
    for key, title, span in spans:
        rows = list(qs.filter(span).order_by("due_at", "id")[:limit]) if counts[key] else []
        groups.append(Group(key=key, title=title, count=counts[key],
                            rows=decorate(rows, b.today)))
    return Inbox(owner=owner, groups=groups, later=counts["later"],
                 upcoming_days=upcoming_days)


@dataclass
class OwnerSummary:
    owner: User | None
    overdue: int
    today: int
    upcoming: int
    rows: list[FollowUp]  # overdue and due today, the first few

    @property
    def key(self) -> str:
        return "none" if self.owner is None else str(self.owner.pk)


def inbox_everyone(*, now: datetime | None = None,
                   rows_per_owner: int = EVERYONE_ROWS_PER_OWNER) -> list[OwnerSummary]:
    """Everyone's open follow-ups by owner, for a manager: per-owner counts (one aggregate
    query) and each owner's first overdue and due-today rows. Unassigned comes first (it is
    nobody's until someone takes it), then owners with the most overdue."""
    b = Bounds.at(now)
    per_owner = (
        FollowUp.objects.filter(status=FollowUpStatus.OPEN, due_at__lt=b.horizon_end)
        .values("assignee")
        .annotate(
            overdue=Count("id", filter=Q(due_at__lt=b.today_start)),
            today=Count("id", filter=Q(due_at__gte=b.today_start,
                                       due_at__lt=b.tomorrow_start)),
            upcoming=Count("id", filter=Q(due_at__gte=b.tomorrow_start)),
        )
    )
    users = get_user_model().objects.in_bulk([r["assignee"] for r in per_owner if r["assignee"]])
    summaries = []
    for r in per_owner:
        owner = users.get(r["assignee"]) if r["assignee"] else None
        rows = []
        if r["overdue"] or r["today"]:
            rows = list(_owned(owner).filter(due_at__lt=b.tomorrow_start)
                        .order_by("due_at", "id")[:rows_per_owner])
        summaries.append(OwnerSummary(owner=owner, overdue=r["overdue"], today=r["today"],
                                      upcoming=r["upcoming"], rows=decorate(rows, b.today)))
    summaries.sort(key=lambda s: (s.owner is not None, -s.overdue, -s.today,
                                  str(s.owner or "")))
    return summaries


def inbox_count(user: User, *, now: datetime | None = None) -> int:
    """The number beside "Inbox" in the menu: the user's overdue and due-today follow-ups."""
    if not getattr(user, "is_authenticated", False):
        return 0
    b = Bounds.at(now)
    # FollowUp.objects.filter(status=OPEN, assignee=user, due_at__lt=...).count(), as
    # SQL: every page's menu asks, and the ORM took longer to build it than to run it.
    # Prepared on PostgreSQL; the status is written into the statement, not a parameter,
    # so that its plan (kept for every run) can use the partial index of open follow-ups.
    q = connection.ops.quote_name
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {q(FollowUp._meta.db_table)} WHERE {q('assignee_id')} = %s "
            f"AND {q('due_at')} < %s AND {q('status')} = '{FollowUpStatus.OPEN.value}'",
            [user.pk, connection.ops.adapt_datetimefield_value(b.tomorrow_start)])
        return cursor.fetchone()[0]


def recently_closed(owner: User | None = None, *, everyone: bool = False,
                    now: datetime | None = None, days: int = RECENT_DAYS,
                    limit: int = 50) -> list[FollowUp]:
    """Follow-ups done or skipped in the last `days` days: the owner's (or everyone's)."""
    since = (now or timezone.now()) - timedelta(days=days)
    qs = FollowUp.objects.filter(
        status__in=[FollowUpStatus.DONE, FollowUpStatus.SKIPPED], completed_at__gte=since
    ).select_related("partner", "referral__patient", "assignee", "completed_by")
    if not everyone:
        qs = qs.filter(assignee__isnull=True) if owner is None else qs.filter(assignee=owner)
    rows = list(qs.order_by("-completed_at", "-id")[:limit])
    for f in rows:
        f.kind_short = KIND_SHORT.get(f.kind, f.kind)  # type: ignore[attr-defined]
    return rows


def followup_for(user: User, pk: int) -> FollowUp:
    """The one way a view gets a follow-up to act on: one's own, or anyone's with
    FOLLOWUPS_ALL. 404 otherwise, so an id does not reveal that the row exists."""
    if not has_cap(user, Cap.FOLLOWUPS):
        raise Http404
    qs = FollowUp.objects.select_related("partner", "referral__patient", "assignee")
    if not has_cap(user, Cap.FOLLOWUPS_ALL):
        qs = qs.filter(assignee=user)
    return get_object_or_404(qs, pk=pk)


def assignable_users() -> QuerySet[User]:
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "username")


def partner_open_followups(partner, *, limit: int = 10) -> list[FollowUp]:
    """The partner page's "what we owe them": open follow-ups, soonest first. Summaries
    never name a patient, so every role may see them."""
    return list(FollowUp.objects.filter(partner=partner, status=FollowUpStatus.OPEN)
                .select_related("assignee").order_by("due_at", "id")[:limit])
