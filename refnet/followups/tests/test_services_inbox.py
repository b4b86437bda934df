"""Done, skip, snooze, reassign: each refuses a follow-up that is no longer open, with a
message that says so, and leaves what the rule promised (original_due_at) alone."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from refnet.followups.models import DoneHow, FollowUp, FollowUpStatus, RuleKind
from refnet.followups.services import (
    followup_complete,
    followup_reassign,
    followup_skip,
    followup_snooze,
)

NY = ZoneInfo("America/New_York")
pytestmark = pytest.mark.django_db


@pytest.fixture
def followup(users, make_partner):
    due = timezone.now() - timedelta(days=1)
    return FollowUp.objects.create(
        key="thank:r1", kind=RuleKind.THANK_REFERRER, partner=make_partner(),
        assignee=users["coordinator"], due_at=due, original_due_at=due,
        summary="Thank Dr. Smith for the referral")


def test_complete_records_how_who_and_when(followup, users):
    cora = users["coordinator"]
    followup_complete(followup=followup, how=DoneHow.CALLED, note="  left a voicemail ", by=cora)
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.DONE
    assert (followup.done_how, followup.note) == ("called", "left a voicemail")
    assert followup.completed_by == cora
    assert followup.completed_at is not None
    assert followup.history.first().history_user == cora


def test_complete_refuses_an_unknown_way(followup, users):
    with pytest.raises(ValidationError) as e:
        followup_complete(followup=followup, how="emailed", by=users["coordinator"])
    assert "how" in e.value.message_dict
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.OPEN


def test_a_closed_follow_up_is_refused_by_every_action(followup, users):
    cora, mona = users["coordinator"], users["manager"]
    stale = FollowUp.objects.get(pk=followup.pk)  # a second screen that still shows it open
    followup_skip(followup=followup, reason="Partner closed their office", by=cora)
    attempts = [
        lambda: followup_complete(followup=stale, how="called", by=cora),
        lambda: followup_skip(followup=stale, reason="again", by=cora),
        lambda: followup_snooze(followup=stale, until=timezone.localdate() + timedelta(days=2),
                                by=cora),
        lambda: followup_reassign(followup=stale, to=mona, by=cora),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError, match="already skipped; nothing changed"):
            attempt()
    followup.refresh_from_db()
    assert (followup.status, followup.assignee, followup.skip_reason) == (
        FollowUpStatus.SKIPPED, cora, "Partner closed their office")


@pytest.mark.parametrize("reason", ["", "   "])
def test_skip_needs_a_reason(followup, users, reason):
    with pytest.raises(ValidationError) as e:
        followup_skip(followup=followup, reason=reason, by=users["coordinator"])
    assert e.value.message_dict == {"reason": ["Say why this follow-up is skipped."]}
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.OPEN


def test_snooze_to_a_day_moves_due_but_not_the_promise(followup, users):
    original = followup.original_due_at
    with time_machine.travel(datetime(2026, 6, 5, 16, 0, tzinfo=NY), tick=False):
        followup_snooze(followup=followup, until=date(2026, 6, 8), by=users["coordinator"])
    followup.refresh_from_db()
    assert followup.due_at == datetime(2026, 6, 8, 8, 0, tzinfo=NY)
    assert followup.original_due_at == original
    assert followup.status == FollowUpStatus.OPEN


def test_snooze_refuses_today_and_the_past(followup, users):
    with time_machine.travel(datetime(2026, 6, 5, 7, 0, tzinfo=NY), tick=False):
        for until in (date(2026, 6, 5), date(2026, 6, 1),
                      datetime(2026, 6, 5, 6, 0, tzinfo=NY)):
            with pytest.raises(ValidationError) as e:
                followup_snooze(followup=followup, until=until, by=users["coordinator"])
            assert "until" in e.value.message_dict


def test_reassign_hands_it_over_and_refuses_inactive_or_same_user(followup, users):
    cora, otto = users["coordinator"], users["outreach"]
    with pytest.raises(ValidationError, match="already with"):
        followup_reassign(followup=followup, to=cora, by=cora)
    otto.is_active = False
    otto.save()
    with pytest.raises(ValidationError) as e:
        followup_reassign(followup=followup, to=otto, by=cora)
    assert "to" in e.value.message_dict
    followup_reassign(followup=followup, to=users["manager"], by=cora)
    followup.refresh_from_db()
    assert followup.assignee == users["manager"]
