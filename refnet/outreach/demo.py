"""Demo events: three past ones with attendees (so attribution has figures) and one
upcoming with its invitations queued in the outbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F

from refnet.followups.models import DoneHow, FollowUp, FollowUpStatus
from refnet.partners.models import BusinessCategory, PartnerKind

from .models import Invitee, Playbook, Rsvp
from .playbooks import playbooks_ensure
from .services import invitations_send, invitees_add, playbook_apply

PLAN = [
    # (playbook name, category invited, days from now, how many invited, cost)
    ("Talk at a gym for its trainers", BusinessCategory.GYM_TRAINER, -150, 6, "180.00"),
    ("Dinner for several retailers with a short presentation and Q&A", BusinessCategory.SHOP,
     -100, 8, "1350.00"),
    ("Session for teachers", BusinessCategory.SCHOOL_TEACHER, -40, 5, "320.00"),
    ("Injury-prevention clinic for a sports club or yoga studio",
     BusinessCategory.SPORTS_YOGA, 14, 6, "200.00"),
]


def build_demo(*, practice: Any, partners: list, now: Any, rng: Any, say: Any) -> None:
    playbooks_ensure()
    owner = practice.users["outreach"]
    local = [p for p in partners if p.kind in (PartnerKind.LOCAL_BUSINESS,
                                                PartnerKind.COMMUNITY_ORG)
             and p.merged_into_id is None]
    made = []
    for name, category, days, size, cost in PLAN:
        pool = [p for p in local if p.category == category] or local
        guests = rng.sample(pool, min(size, len(pool)))
        start = (now + timedelta(days=days)).replace(hour=18, minute=0, second=0)
        location = practice.locations[rng.randrange(len(practice.locations))]
        event, _ = playbook_apply(
            playbook=Playbook.objects.get(name=name), by=owner, owner=owner, starts_at=start,
            location=location if days < 0 and rng.random() < 0.5 else None,
            place="" if days < 0 else "Mountain Flow Yoga, 410 Pearl St, Denver",
            cost=Decimal(cost))
        invitees_add(event=event, by=owner, partners=guests)
        if days < 0:
            # A past event's steps were done on their due dates (not left overdue).
            FollowUp.objects.filter(key__startswith=f"outreach:event:{event.pk}:step:",
                                    status=FollowUpStatus.OPEN).update(
                status=FollowUpStatus.DONE, done_how=DoneHow.OTHER, completed_by=owner,
                completed_at=F("due_at"), note="Done (demo)")
            for invitee in Invitee.objects.filter(event=event):
                answer = rng.choice([Rsvp.YES, Rsvp.YES, Rsvp.YES, Rsvp.MAYBE, Rsvp.NO])
                invitee.rsvp = answer
                invitee.rsvp_at = start - timedelta(days=rng.randint(2, 10))
                invitee.attended = answer == Rsvp.YES or (answer == Rsvp.MAYBE
                                                          and rng.random() < 0.5)
                invitee.invited_at = start - timedelta(days=21)
                invitee.save(update_fields=["rsvp", "rsvp_at", "attended", "invited_at"])
        else:
            result = invitations_send(event=event, by=owner, now=now)
            say(f"Queued {len(result.queued)} invitations to “{event.title}” "
                f"({len(result.skipped)} skipped)")
        made.append(event)
    say(f"Created {len(made)} outreach events")
