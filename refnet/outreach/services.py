"""Writes for outreach: events, applying a playbook, invitees, invitations, RSVPs and
attendance. Each function is one transaction with keyword-only arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe

from refnet.accounts.models import User
from refnet.followups.models import FollowUpKind
from refnet.followups.services import followup_task_create
from refnet.outbox.addresses import unsubscribe_url
from refnet.outbox.models import Audience, MessageChannel, Purpose
from refnet.outbox.services import contact_blocked, message_enqueue
from refnet.partners.models import Contact, Partner
from refnet.partners.selectors import partner_survivor

from . import ics
from .models import Event, Invitee, Playbook, Rsvp

EVENT_FIELDS = ("kind", "title", "starts_at", "ends_at", "place", "location", "description",
                "cost", "owner", "notes", "playbook", "attribution_days")
# A change to one of these makes calendars replace the invitation (SEQUENCE goes up).
_CALENDAR_FIELDS = ("starts_at", "ends_at", "place", "location_id", "title")
_RSVP_SALT = "refnet.outreach.rsvp"


# --- Events and playbooks ----------------------------------------------------------------


def event_save(*, by: User | None, event: Event | None = None, **fields: Any) -> Event:
    """Create an event, or change one. Unknown fields are refused by name."""
    for name in fields:
        if name not in EVENT_FIELDS:
            raise ValidationError({name: f"{name} cannot be set on an event."})
    event = event or Event(created_by=by)
    before = {f: getattr(event, f) for f in _CALENDAR_FIELDS} if event.pk else None
    for name, value in fields.items():
        setattr(event, name, value)
    if event.cost is None:
        event.cost = Decimal("0")
    with transaction.atomic():
        event.full_clean()
        if before is not None and any(getattr(event, f) != v for f, v in before.items()):
            event.sequence += 1
        event.save()
    return event


def _step_key(event: Event, index: int) -> str:
    return f"outreach:event:{event.pk}:step:{index}"


def event_steps_schedule(*, event: Event, by: User | None) -> int:
    """The event's playbook steps as EVENT follow-ups for the owner, each due its offset
    from the event's day. Idempotent (keyed by event and step number): returns how many
    were new."""
    if event.playbook is None:
        raise ValidationError({"playbook": "This event was not made from a playbook."})
    if event.owner is None:
        raise ValidationError({"owner": "Choose who owns the event: the steps go to them."})
    day = timezone.localtime(event.starts_at).date()
    created = 0
    with transaction.atomic():
        for index, step in enumerate(event.playbook.steps):
            due = day + timedelta(days=step["offset_days"])
            _task, new = followup_task_create(
                kind=FollowUpKind.EVENT, summary=f"{event.title}: {step['summary']}"[:300],
                assignee=event.owner, due_at=due, by=by, location=event.location,
                key=_step_key(event, index),
            )
            created += new
    return created


def playbook_apply(*, playbook: Playbook, by: User | None, owner: User | None,
                   starts_at: datetime, title: str = "", ends_at: datetime | None = None,
                   place: str = "", location: Any = None, cost: Decimal | None = None,
                   description: str = "") -> tuple[Event, int]:
    """An event made from the playbook (its kind, cost, description and length unless
    given) and its steps scheduled for the owner. Returns (event, steps created)."""
    with transaction.atomic():
        event = event_save(
            by=by, kind=playbook.event_kind, title=(title or playbook.name).strip(),
            starts_at=starts_at,
            ends_at=ends_at or starts_at + timedelta(minutes=playbook.duration_minutes),
            place=place, location=location,
            cost=playbook.default_cost if cost is None else cost,
            description=description or playbook.description, owner=owner, playbook=playbook,
        )
        created = event_steps_schedule(event=event, by=by)
    return event, created


# --- Invitees ----------------------------------------------------------------------------


def invitee_address(invitee: Invitee) -> str:
    """Where the invitation goes: the contact's email, else the partner's, else the first
    contact of the partner with one (primary first)."""
    if invitee.contact_id:
        return invitee.contact.email.strip()
    if invitee.partner.email.strip():
        return invitee.partner.email.strip()
    for contact in invitee.partner.contacts.all():
        if contact.email.strip():
            return contact.email.strip()
    return ""


def invitees_add(*, event: Event, by: User | None, partners: list[Partner] = (),
                 contacts: list[Contact] = ()) -> tuple[int, int]:
    """Invite partners (as a whole) and contacts (people at a partner). A merged partner is
    invited as its survivor. Returns (added, already invited)."""
    added = already = 0
    with transaction.atomic():
        for partner in partners:
            partner = partner_survivor(partner)
            _obj, new = Invitee.objects.get_or_create(event=event, partner=partner,
                                                      contact=None)
            added, already = added + new, already + (not new)
        for contact in contacts:
            partner = partner_survivor(contact.partner)
            _obj, new = Invitee.objects.get_or_create(event=event, contact=contact,
                                                      defaults={"partner": partner})
            added, already = added + new, already + (not new)
    return added, already


def invitee_remove(*, invitee: Invitee, by: User | None) -> None:
    """Take someone off the list. An invitation already queued stays in the outbox
    (cancel it there if it has not gone)."""
    with transaction.atomic():
        invitee.delete()


def rsvp_record(*, invitee: Invitee, rsvp: str, by: User | None,
                now: datetime | None = None) -> Invitee:
    if rsvp not in Rsvp.values:
        raise ValidationError({"rsvp": f"{rsvp!r} is not an answer; choose yes, no or maybe."})
    with transaction.atomic():
        invitee = Invitee.objects.select_for_update().get(pk=invitee.pk)
        invitee.rsvp = rsvp
        invitee.rsvp_at = None if rsvp == Rsvp.PENDING else (now or timezone.now())
        invitee.save(update_fields=["rsvp", "rsvp_at"])
    return invitee


def attendance_record(*, invitee: Invitee, attended: bool, by: User | None,
                      now: datetime | None = None) -> Invitee:
    """Mark who came. Only once the event has started: attendance is a fact, not a plan."""
    now = now or timezone.now()
    if attended and invitee.event.starts_at > now:
        raise ValidationError({"attended": "The event has not started yet; record who came "
                                           "on the day."})
    with transaction.atomic():
        Invitee.objects.filter(pk=invitee.pk).update(attended=attended)
        invitee.attended = attended
    return invitee


# --- Invitations -------------------------------------------------------------------------


def rsvp_token(invitee: Invitee) -> str:
    return signing.dumps({"i": invitee.pk, "e": invitee.event_id}, salt=_RSVP_SALT)


def read_rsvp_token(token: str) -> Invitee:
    """The invitee a public RSVP link is for; raises signing.BadSignature or
    Invitee.DoesNotExist."""
    data = signing.loads(token, salt=_RSVP_SALT)
    return Invitee.objects.select_related("event", "partner", "contact").get(
        pk=data["i"], event_id=data["e"])


def rsvp_url(invitee: Invitee) -> str:
    return (settings.REFNET_BASE_URL.rstrip("/")
            + reverse("outreach:rsvp", args=[rsvp_token(invitee)]))


def _domain() -> str:
    return urlsplit(settings.REFNET_BASE_URL).hostname or "refnet.invalid"


def event_uid(event: Event) -> str:
    """Stable for the life of the event, so an updated invitation replaces the first."""
    return f"event-{event.pk}@{_domain()}"


def _organizer(event: Event) -> ics.Person:
    name = settings.REFNET_PRACTICE_NAME
    if event.owner is not None:
        name = f"{event.owner.get_full_name() or event.owner.username} ({name})"
    return ics.Person(name=name, email=settings.DEFAULT_FROM_EMAIL)


def event_ics(event: Event, *, attendee: ics.Person | None = None,
              stamp: datetime | None = None) -> str:
    return ics.calendar(
        uid=event_uid(event), sequence=event.sequence, stamp=stamp or timezone.now(),
        starts_at=event.starts_at, ends_at=event.ends_at, summary=event.title,
        location=event.where, description=event.description, organizer=_organizer(event),
        attendees=[attendee] if attendee else [],
    )


def _invitation(event: Event, invitee: Invitee, address: str) -> dict[str, str]:
    """Subject, text and HTML of one invitation: general audience, no patient data."""
    from refnet.outbox.rendering import greeting

    start = timezone.localtime(event.starts_at)
    end = timezone.localtime(event.ends_at)
    context = {
        "greeting": greeting(invitee.partner, invitee.contact),
        "event": event, "start": start, "end": end, "where": event.where,
        "host": (event.owner.get_full_name() or event.owner.username) if event.owner
        else f"The team at {settings.REFNET_PRACTICE_NAME}",
        "practice_name": settings.REFNET_PRACTICE_NAME,
        "practice_phone": settings.REFNET_PRACTICE_PHONE,
        "rsvp_url": rsvp_url(invitee),
    }
    subject = " ".join(f"Invitation: {event.title}, {start:%a %b} {start.day}".split())
    body = render_to_string("outreach/email/invite.txt", context).strip()
    unsubscribe = unsubscribe_url(MessageChannel.EMAIL, address)
    text = "\n".join([body, "", "-- ", settings.REFNET_PRACTICE_NAME,
                      settings.REFNET_PRACTICE_ADDRESS,
                      f"To stop receiving these emails: {unsubscribe}"])
    html = render_to_string("outbox/email_base.html", {
        "subject": subject,
        "body": mark_safe(linebreaks(escape(body))),  # noqa: S308 - escaped just now
        "practice_name": settings.REFNET_PRACTICE_NAME,
        "practice_address": settings.REFNET_PRACTICE_ADDRESS,
        "practice_phone": settings.REFNET_PRACTICE_PHONE,
        "unsubscribe_url": unsubscribe,
    })
    return {"subject": subject, "text": text, "html": html}


@dataclass
class SendResult:
    queued: list[Invitee] = field(default_factory=list)
    already: list[Invitee] = field(default_factory=list)
    skipped: list[tuple[Invitee, str]] = field(default_factory=list)


def invitations_send(*, event: Event, by: User | None,
                     now: datetime | None = None) -> SendResult:
    """Queue one invitation email, with the event's .ics, per invitee not yet invited.
    Invitees without an email, marked do-not-contact or opted out are skipped and listed.
    Sending again sends nothing twice (each message is keyed by event and invitee)."""
    now = now or timezone.now()
    if event.ends_at <= now:
        raise ValidationError({"event": "This event is over; invitations are for events "
                                        "to come."})
    result = SendResult()
    with transaction.atomic():
        invitees = (Invitee.objects.select_for_update(of=("self",))
                    .filter(event=event).select_related("partner", "contact")
                    .order_by("partner__name", "id"))
        for invitee in invitees:
            if invitee.message_id:
                result.already.append(invitee)
                continue
            address = invitee_address(invitee)
            if not address:
                result.skipped.append((invitee, "no email address"))
                continue
            why = contact_blocked(channel=MessageChannel.EMAIL, partner=invitee.partner,
                                  address=address)
            if why:
                result.skipped.append((invitee, why))
                continue
            content = _invitation(event, invitee, address)
            to_name = invitee.contact.name if invitee.contact_id else invitee.partner.name
            calendar = event_ics(event, attendee=ics.Person(name=to_name, email=address),
                                 stamp=now)
            try:
                message = message_enqueue(
                    channel=MessageChannel.EMAIL, purpose=Purpose.EVENT_INVITE,
                    audience=Audience.GENERAL, partner=invitee.partner,
                    contact=invitee.contact, to_name=to_name, to_address=address,
                    subject=content["subject"], body_text=content["text"],
                    body_html=content["html"], names_patient=False, by=by,
                    dedupe_key=f"outreach:invite:{event.pk}:{invitee.pk}",
                    attachments=[{"filename": "invite.ics",
                                  "content_type": "text/calendar; method=REQUEST",
                                  "content": calendar}],
                )
            except ValidationError as error:  # a suppression that arrived meanwhile
                result.skipped.append((invitee, " ".join(error.messages)))
                continue
            invitee.message = message
            invitee.email = address
            invitee.invited_at = now
            invitee.save(update_fields=["message", "email", "invited_at"])
            result.queued.append(invitee)
    return result
