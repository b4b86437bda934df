"""The inbox groups follow-ups by the practice's local date (America/New_York in tests):
overdue, due today, upcoming; around midnight and across a weekend."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from refnet.followups import selectors
from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind

NY = ZoneInfo("America/New_York")
pytestmark = pytest.mark.django_db


def local(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def make_followup(db):
    counter = iter(range(1, 10_000))

    def make(assignee, due_at, kind=RuleKind.CHECK_IN, **fields):
        n = next(counter)
        return FollowUp.objects.create(
            key=f"test:{n}", kind=kind, assignee=assignee, due_at=due_at,
            original_due_at=due_at, summary=fields.pop("summary", f"Task {n}"), **fields)

    return make


def keys(group) -> list[str]:
    return [f.summary for f in group.rows]


def test_groups_by_local_date_not_utc(users, make_followup):
    cora = users["coordinator"]
    # 11:30 pm in New York on June 9 is already June 10 in UTC: still due today.
    make_followup(cora, local(2026, 6, 9, 23, 30), summary="late tonight")
    make_followup(cora, local(2026, 6, 9, 0, 0), summary="first minute of today")
    make_followup(cora, local(2026, 6, 8, 23, 59), summary="yesterday's last minute")
    make_followup(cora, local(2026, 6, 10, 0, 0), summary="tomorrow midnight")
    with time_machine.travel(local(2026, 6, 9, 20, 0), tick=False):
        box = selectors.inbox_for(cora)
    assert keys(box.overdue) == ["yesterday's last minute"]
    assert keys(box.today) == ["first minute of today", "late tonight"]
    assert keys(box.upcoming) == ["tomorrow midnight"]
    assert [g.count for g in box.groups] == [1, 2, 1]


def test_just_after_local_midnight_yesterday_is_overdue(users, make_followup):
    cora = users["coordinator"]
    make_followup(cora, local(2026, 6, 9, 23, 30), summary="was due last night")
    with time_machine.travel(local(2026, 6, 10, 0, 5), tick=False):
        box = selectors.inbox_for(cora)
        assert keys(box.overdue) == ["was due last night"]
        assert box.overdue.rows[0].due_text == "1 day overdue"


def test_across_a_weekend(users, make_followup):
    """On Monday morning, Friday's follow-up is 3 days overdue and Saturday's 2; the
    Friday view of the same rows puts the weekend in Upcoming."""
    cora = users["coordinator"]
    make_followup(cora, local(2026, 6, 5, 17, 0), summary="Friday")  # a Friday
    make_followup(cora, local(2026, 6, 6, 9, 0), summary="Saturday")
    make_followup(cora, local(2026, 6, 8, 9, 0), summary="Monday")
    with time_machine.travel(local(2026, 6, 8, 8, 0), tick=False):
        box = selectors.inbox_for(cora)
        assert keys(box.overdue) == ["Friday", "Saturday"]
        assert [f.due_text for f in box.overdue.rows] == ["3 days overdue", "2 days overdue"]
        assert keys(box.today) == ["Monday"]
    with time_machine.travel(local(2026, 6, 5, 16, 0), tick=False):
        box = selectors.inbox_for(cora)
        assert keys(box.today) == ["Friday"]
        assert [f.due_text for f in box.upcoming.rows] == ["tomorrow (Sat)", "in 3 days (Mon)"]


def test_upcoming_stops_at_the_horizon_and_show_later_widens_it(users, make_followup):
    cora = users["coordinator"]
    with time_machine.travel(local(2026, 6, 9, 10, 0), tick=False):
        make_followup(cora, local(2026, 6, 23, 9, 0), summary="in 14 days")
        make_followup(cora, local(2026, 6, 24, 9, 0), summary="in 15 days")
        box = selectors.inbox_for(cora)
        assert keys(box.upcoming) == ["in 14 days"] and box.later == 1
        wide = selectors.inbox_for(cora, upcoming_days=60)
        assert keys(wide.upcoming) == ["in 14 days", "in 15 days"] and wide.later == 0


def test_only_the_owners_open_follow_ups(users, make_followup):
    cora, mona = users["coordinator"], users["manager"]
    now = timezone.now()
    make_followup(cora, now, summary="mine")
    make_followup(mona, now, summary="hers")
    make_followup(cora, now, summary="done already", status=FollowUpStatus.DONE)
    make_followup(None, now, summary="nobody's")
    assert keys(selectors.inbox_for(cora).today) == ["mine"]
    assert keys(selectors.inbox_for(None).today) == ["nobody's"]
    assert selectors.inbox_count(cora) == 1


def test_group_counts_are_full_counts_when_rows_are_capped(users, make_followup):
    cora = users["coordinator"]
    yesterday = timezone.now() - timedelta(days=1)
    for _ in range(5):
        make_followup(cora, yesterday)
    box = selectors.inbox_for(cora, limit=3)
    assert box.overdue.count == 5 and len(box.overdue.rows) == 3 and box.overdue.more == 2


def test_everyone_by_owner_unassigned_first_then_most_overdue(users, make_followup):
    cora, otto, mona = users["coordinator"], users["outreach"], users["manager"]
    with time_machine.travel(local(2026, 6, 9, 10, 0), tick=False):
        make_followup(cora, local(2026, 6, 8, 9, 0))
        for day in (1, 2, 3):
            make_followup(otto, local(2026, 6, day, 9, 0))
        make_followup(otto, local(2026, 6, 12, 9, 0))
        make_followup(None, local(2026, 6, 9, 15, 0))
        make_followup(mona, local(2026, 6, 15, 9, 0))
        summaries = selectors.inbox_everyone()
    assert [(s.owner, s.overdue, s.today, s.upcoming) for s in summaries] == [
        (None, 0, 1, 0), (otto, 3, 0, 1), (cora, 1, 0, 0), (mona, 0, 0, 1)]
    assert len(summaries[1].rows) == 3  # overdue and due today only
    assert summaries[3].rows == []


def test_recently_closed_keeps_a_week(users, make_followup):
    cora = users["coordinator"]
    now = timezone.now()
    make_followup(cora, now, summary="this week", status=FollowUpStatus.DONE,
                  completed_at=now - timedelta(days=6))
    make_followup(cora, now, summary="long ago", status=FollowUpStatus.SKIPPED,
                  completed_at=now - timedelta(days=8))
    assert [f.summary for f in selectors.recently_closed(cora)] == ["this week"]
