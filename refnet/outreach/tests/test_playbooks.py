"""The seeded playbooks, and applying one: an event and its steps in the owner's inbox,
once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from refnet.followups.models import FollowUp, FollowUpKind
from refnet.outreach.models import Event, Playbook, validate_steps
from refnet.outreach.services import event_steps_schedule, playbook_apply

from .conftest import utc


def test_every_local_business_category_has_a_playbook(db):
    from refnet.partners.models import BusinessCategory

    have = set(Playbook.objects.values_list("category", flat=True))
    assert have == set(BusinessCategory.values)
    names = set(Playbook.objects.values_list("name", flat=True))
    assert {"Talk at a gym for its trainers", "Session for teachers",
            "Store manager tour of the clinic", "Join the chamber of commerce",
            "Dinner for several retailers with a short presentation and Q&A"} <= names
    for playbook in Playbook.objects.all():
        validate_steps(playbook.steps)


def test_applying_makes_the_event_and_its_steps_once(users, settings):
    settings.TIME_ZONE = "America/Denver"
    dinner = Playbook.objects.get(name__startswith="Dinner for several retailers")
    start = utc(2030, 5, 20, 1, 30)  # 19:30 on May 19 in Denver
    event, created = playbook_apply(playbook=dinner, by=users["manager"],
                                    owner=users["outreach"], starts_at=start,
                                    place="Luigi's, 12 Main St")
    assert created == len(dinner.steps) == 7
    assert (event.kind, event.cost, event.ends_at - event.starts_at, event.playbook) == (
        "dinner", Decimal("1200.00"), timedelta(minutes=120), dinner)
    assert event.title == dinner.name
    tasks = FollowUp.objects.filter(kind=FollowUpKind.EVENT).order_by("due_at")
    assert tasks.count() == 7
    assert {t.assignee for t in tasks} == {users["outreach"]}
    from django.utils import timezone
    first = timezone.localtime(tasks[0].due_at).date()
    assert first.isoformat() == "2030-04-14"  # 35 days before May 19 (local day)
    assert tasks[0].summary.endswith("Book the restaurant's private room")

    assert event_steps_schedule(event=event, by=users["manager"]) == 0
    assert FollowUp.objects.filter(kind=FollowUpKind.EVENT).count() == 7
    assert Event.objects.count() == 1


def test_steps_need_an_owner_and_a_playbook(make_event):
    event = make_event()
    with pytest.raises(ValidationError, match="not made from a playbook"):
        event_steps_schedule(event=event, by=None)
    event.playbook = Playbook.objects.first()
    event.owner = None
    with pytest.raises(ValidationError, match="owns the event"):
        event_steps_schedule(event=event, by=None)


@pytest.mark.parametrize("steps, message", [
    ("nope", "must be a list"),
    ([{"offset_days": "3", "summary": "x"}], "Step 1: offset_days"),
    ([{"offset_days": 1, "summary": "ok"}, {"offset_days": 2, "summary": " "}], "Step 2"),
    ([{"offset_days": 1, "summary": "ok", "who": "boss"}], "who must be"),
])
def test_bad_steps_are_named(steps, message):
    with pytest.raises(ValidationError, match=message):
        validate_steps(steps)
