"""Tasks people schedule (prospects, events, the growth plan) land in the inbox."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpKind
from refnet.followups.selectors import inbox_for
from refnet.followups.services import followup_task_create

pytestmark = pytest.mark.django_db


def test_a_task_with_a_key_is_created_once_and_shows_in_the_owner_inbox(users, make_partner):
    partner = make_partner(name="Peak Gym", kind="local_business", category="gym_trainer")
    owner = users["outreach"]
    due = timezone.localdate() + timedelta(days=3)
    task, created = followup_task_create(kind=FollowUpKind.PROSPECT, summary="Call Peak Gym",
                                         assignee=owner, due_at=due, by=users["manager"],
                                         partner=partner, key="prospect:first:1")
    again, created_again = followup_task_create(kind=FollowUpKind.PROSPECT, summary="Call",
                                                assignee=owner, due_at=due, by=None,
                                                key="prospect:first:1")
    assert created and not created_again and again.pk == task.pk
    # Two open tasks for one partner may coexist (only check-ins are one at a time).
    followup_task_create(kind=FollowUpKind.EVENT, summary="Invite to the open house",
                         assignee=owner, due_at=due, by=None, partner=partner)
    assert FollowUp.objects.filter(partner=partner, status="open").count() == 2
    inbox = inbox_for(owner)
    assert task.pk in [f.pk for f in inbox.upcoming.rows]


def test_rule_kinds_and_bad_input_are_refused(users):
    with pytest.raises(ValidationError):
        followup_task_create(kind="check_in", summary="x", assignee=users["outreach"],
                             due_at=date.today(), by=None)
    with pytest.raises(ValidationError):
        followup_task_create(kind=FollowUpKind.TASK, summary="  ", assignee=users["outreach"],
                             due_at=date.today(), by=None)
