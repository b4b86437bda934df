"""Weekly and monthly items: their dates, their steps in the owner's inbox, the next one."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from refnet.followups.models import DoneHow, FollowUp, FollowUpKind, FollowUpStatus
from refnet.followups.services import followup_complete, followup_skip
from refnet.growth.models import Cadence
from refnet.growth.services import goal_save, item_save, next_due_after, plan_tick

NOW = datetime(2025, 1, 27, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(("due", "cadence", "anchor", "expected"), [
    (date(2025, 1, 31), Cadence.MONTHLY, 31, date(2025, 2, 28)),
    (date(2024, 1, 31), Cadence.MONTHLY, 31, date(2024, 2, 29)),
    (date(2025, 2, 28), Cadence.MONTHLY, 31, date(2025, 3, 31)),
    (date(2025, 4, 30), Cadence.MONTHLY, 30, date(2025, 5, 30)),
    (date(2025, 12, 15), Cadence.MONTHLY, 15, date(2026, 1, 15)),
    (date(2025, 1, 29), Cadence.WEEKLY, 29, date(2025, 2, 5)),
    (date(2025, 12, 29), Cadence.WEEKLY, 29, date(2026, 1, 5)),
    (date(2025, 1, 29), Cadence.ONCE, 29, None),
])
def test_next_due_dates(due, cadence, anchor, expected):
    assert next_due_after(due, cadence, anchor) == expected


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def goal(users):
    return goal_save(by=users["manager"], title="Grow the network")


def _steps(user):
    return list(FollowUp.objects.filter(kind=FollowUpKind.PLAN_STEP, assignee=user)
                .order_by("due_at"))


def test_an_item_appears_in_its_owners_inbox_once(frozen, users, goal):
    otto = users["outreach"]
    item = item_save(by=users["manager"], goal=goal, title="Call a gym", owner=otto,
                     cadence=Cadence.MONTHLY, next_due=date(2025, 1, 31))
    plan_tick()
    plan_tick()
    [step] = _steps(otto)
    assert step.key == f"plan:{item.pk}:2025-01-31"
    assert step.summary == "Call a gym"  # the inbox labels it "Growth plan"
    assert step.status == FollowUpStatus.OPEN
    assert step.due_at.date() == date(2025, 1, 31)


def test_completing_a_monthly_step_creates_the_next_once(frozen, users, goal):
    otto = users["outreach"]
    item = item_save(by=users["manager"], goal=goal, title="Call a gym", owner=otto,
                     cadence=Cadence.MONTHLY, next_due=date(2025, 1, 31))
    followup_complete(followup=_steps(otto)[0], how=DoneHow.CALLED, by=otto)
    assert plan_tick()["plan_steps"] == 1
    assert plan_tick()["plan_steps"] == 0
    steps = _steps(otto)
    assert [s.key for s in steps] == [f"plan:{item.pk}:2025-01-31",
                                      f"plan:{item.pk}:2025-02-28"]
    assert steps[1].status == FollowUpStatus.OPEN
    followup_complete(followup=steps[1], how=DoneHow.CALLED, by=otto)
    plan_tick()
    assert _steps(otto)[-1].key == f"plan:{item.pk}:2025-03-31"  # back to the 31st


def test_a_skipped_weekly_step_still_brings_the_next_week(frozen, users, goal):
    otto = users["outreach"]
    item_save(by=users["manager"], goal=goal, title="Visit a clinic", owner=otto,
              cadence=Cadence.WEEKLY, next_due=date(2025, 1, 29))
    followup_skip(followup=_steps(otto)[0], reason="Snowed in", by=otto)
    plan_tick()
    assert _steps(otto)[-1].due_at.date() == date(2025, 2, 5)


def test_a_one_off_item_is_finished_when_done(frozen, users, goal):
    mona = users["manager"]
    item = item_save(by=mona, goal=goal, title="Train the front desk", owner=mona,
                     cadence=Cadence.ONCE, next_due=date(2025, 2, 3))
    followup_complete(followup=_steps(mona)[0], how=DoneHow.MET, by=mona)
    assert plan_tick() == {"plan_steps": 0, "plan_items_finished": 1}
    item.refresh_from_db()
    assert item.finished_at is not None
    assert len(_steps(mona)) == 1


def test_moving_an_item_moves_its_step_and_a_new_owner_gets_it(frozen, users, goal):
    otto, mona = users["outreach"], users["manager"]
    item = item_save(by=mona, goal=goal, title="Call a gym", owner=otto,
                     cadence=Cadence.MONTHLY, next_due=date(2025, 1, 31))
    item = item_save(by=mona, goal=goal, item=item, title="Call a gym", owner=mona,
                     cadence=Cadence.MONTHLY, next_due=date(2025, 1, 31))
    assert _steps(otto) == []
    assert len(_steps(mona)) == 1
    item_save(by=mona, goal=goal, item=item, title="Call a gym", owner=mona,
              cadence=Cadence.MONTHLY, next_due=date(2025, 2, 10))
    old, new = _steps(mona)
    assert old.status == FollowUpStatus.SKIPPED
    assert new.status == FollowUpStatus.OPEN and new.due_at.date() == date(2025, 2, 10)


def test_bad_item_input_names_the_fields(users, goal):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        item_save(by=None, goal=goal, title=" ", owner=None, cadence="daily", next_due=None)
    assert set(error.value.message_dict) == {"title", "owner", "cadence", "next_due"}
    assert not FollowUp.objects.exists()
