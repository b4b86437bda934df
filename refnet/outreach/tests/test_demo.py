"""The demo's events: three past with attendees, one upcoming with invitations queued."""

import random
from types import SimpleNamespace

from django.utils import timezone

from refnet.outbox.models import OutboxMessage
from refnet.outreach.demo import build_demo
from refnet.outreach.models import Event, Playbook


def test_demo_events(users, location, make_partner):
    partners = [make_partner(name=f"{cat} {n}", kind="local_business", category=cat,
                             email=f"{cat}{n}@example.org")
                for cat in ("gym_trainer", "shop", "school_teacher", "sports_yoga")
                for n in range(3)]
    Playbook.objects.all().delete()  # a demo reset empties the table; the demo re-seeds
    said = []
    now = timezone.now()
    build_demo(practice=SimpleNamespace(users=users, locations=[location]), partners=partners,
               now=now, rng=random.Random(1), say=said.append)
    assert Playbook.objects.count() >= 7
    past = Event.objects.filter(starts_at__lt=now)
    assert past.count() == 3
    assert all(e.invitees.filter(attended=True).exists() for e in past)
    upcoming = Event.objects.get(starts_at__gt=now)
    assert OutboxMessage.objects.filter(purpose="event_invite").count() == \
        upcoming.invitees.count() == 3
    assert said[-1] == "Created 4 outreach events"
    # Past events' steps are done; only the upcoming event's steps are open.
    from refnet.followups.models import FollowUp

    for event in past:
        steps = FollowUp.objects.filter(key__startswith=f"outreach:event:{event.pk}:step:")
        assert steps.exists() and not steps.filter(status="open").exists()
    assert FollowUp.objects.filter(key__startswith=f"outreach:event:{upcoming.pk}:step:",
                                   status="open").exists()
