"""Invitations go through the outbox with the .ics attached, once per invitee; blocked
invitees are listed, not sent to."""

from datetime import UTC, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from refnet.outbox.models import OutboxMessage, Purpose
from refnet.outbox.services import suppression_add
from refnet.outreach import ics
from refnet.outreach.models import Invitee, Rsvp
from refnet.outreach.services import (
    event_save,
    invitations_send,
    invitees_add,
    read_rsvp_token,
    rsvp_record,
    rsvp_token,
)


@pytest.fixture
def invited(make_event, make_partner, make_contact, gym):
    event = make_event(description="Bring water; wear shoes.")
    coach = make_contact(gym, name="Sam Coach", email="sam@ironworks.example")
    no_email = make_partner(name="Quiet Shop", kind="local_business", category="shop")
    dnc = make_partner(name="Busy Realty", kind="local_business", category="realtor",
                       email="desk@busy.example", do_not_contact=True)
    opted_out = make_partner(name="Yoga Loft", kind="local_business",
                             category="sports_yoga", email="hi@yogaloft.example")
    suppression_add(channel="email", address="HI@yogaloft.example", reason="unsubscribe")
    invitees_add(event=event, by=None, partners=[gym, no_email, dnc, opted_out],
                 contacts=[coach])
    return event


def test_one_message_per_reachable_invitee_with_the_ics_attached(invited, users):
    result = invitations_send(event=invited, by=users["outreach"])

    assert sorted(i.email for i in result.queued) == ["front@ironworks.example",
                                                      "sam@ironworks.example"]
    assert sorted((i.partner.name, why.split(" ")[0]) for i, why in result.skipped) == [
        ("Busy Realty", "Busy"), ("Quiet Shop", "no"), ("Yoga Loft", "hi@yogaloft.example")]
    messages = OutboxMessage.objects.filter(purpose=Purpose.EVENT_INVITE)
    assert messages.count() == 2
    sam = messages.get(to_address="sam@ironworks.example")
    assert sam.audience == "general" and sam.names_patient is False
    assert sam.subject.startswith("Invitation: Talk at Iron Works Gym")
    assert "Hello Sam Coach" in sam.body_text and "Bring water; wear shoes." in sam.body_text
    assert "/outreach/rsvp/" in sam.body_text and "/u/unsubscribe/" in sam.body_text
    (attachment,) = sam.attachments
    assert attachment["filename"] == "invite.ics"
    assert attachment["content_type"] == "text/calendar; method=REQUEST"
    parsed = ics.parse_event(attachment["content"])
    assert parsed["UID"][0][1] == f"event-{invited.pk}@127.0.0.1"
    assert parsed["ATTENDEE"][0][1] == "mailto:sam@ironworks.example"
    assert parsed["DTSTART"][0][1] == invited.starts_at.astimezone(UTC).strftime(
        "%Y%m%dT%H%M%SZ")


def test_sending_twice_sends_once(invited, users):
    invitations_send(event=invited, by=users["outreach"])
    again = invitations_send(event=invited, by=users["outreach"])
    assert again.queued == [] and len(again.already) == 2
    assert OutboxMessage.objects.filter(purpose=Purpose.EVENT_INVITE).count() == 2


def test_a_later_invitee_gets_one_and_the_uid_is_the_same(invited, users, make_partner):
    invitations_send(event=invited, by=users["outreach"])
    late = make_partner(name="Late Gym", kind="local_business", category="gym_trainer",
                        email="late@gym.example")
    invitees_add(event=invited, by=None, partners=[late])
    result = invitations_send(event=invited, by=users["outreach"])
    assert [i.partner.name for i in result.queued] == ["Late Gym"]
    uids = {ics.parse_event(m.attachments[0]["content"])["UID"][0][1]
            for m in OutboxMessage.objects.filter(purpose=Purpose.EVENT_INVITE)}
    assert len(uids) == 1


def test_an_event_that_is_over_sends_nothing(make_event, gym, users):
    start = timezone.now() - timedelta(days=3)
    event = make_event(starts_at=start, ends_at=start + timedelta(hours=1))
    invitees_add(event=event, by=None, partners=[gym])
    with pytest.raises(ValidationError, match="over"):
        invitations_send(event=event, by=users["outreach"])
    assert not OutboxMessage.objects.exists()


def test_hostile_text_stays_text_in_the_html(make_event, gym, users):
    event = make_event(title="<script>alert(1)</script> night",
                       description="<img src=x onerror=alert(1)>")
    invitees_add(event=event, by=None, partners=[gym])
    invitations_send(event=event, by=users["outreach"])
    message = OutboxMessage.objects.get()
    assert "<script>" not in message.body_html and "<img" not in message.body_html
    assert "&lt;img src=x" in message.body_html


def test_adding_twice_and_merged_partners_are_one_invitee(make_event, gym, make_partner):
    from refnet.partners.services import partner_merge

    event = make_event()
    dup = make_partner(name="Iron Works Gym LLC", kind="local_business",
                       category="gym_trainer")
    partner_merge(survivor=gym, duplicate=dup, by=None)
    dup.refresh_from_db()
    assert invitees_add(event=event, by=None, partners=[gym]) == (1, 0)
    assert invitees_add(event=event, by=None, partners=[dup, gym]) == (0, 2)
    assert Invitee.objects.get().partner == gym


def test_rsvp_token_round_trip_and_tampering(invited):
    from django.core import signing

    invitee = Invitee.objects.filter(contact__isnull=False).get()
    assert read_rsvp_token(rsvp_token(invitee)) == invitee
    with pytest.raises(signing.BadSignature):
        read_rsvp_token(rsvp_token(invitee)[:-2] + "xx")
    rsvp_record(invitee=invitee, rsvp=Rsvp.YES, by=None)
    invitee.refresh_from_db()
    assert invitee.rsvp == "yes" and invitee.rsvp_at is not None
    with pytest.raises(ValidationError, match="not an answer"):
        rsvp_record(invitee=invitee, rsvp="perhaps", by=None)


def test_moving_the_event_bumps_the_sequence(make_event, users):
    event = make_event()
    assert event.sequence == 0
    event = event_save(by=None, event=event, notes="internal only")
    assert event.sequence == 0
    event = event_save(by=None, event=event, starts_at=event.starts_at + timedelta(hours=1),
                       ends_at=event.ends_at + timedelta(hours=1))
    assert event.sequence == 1


def test_bad_event_fields_are_named(make_event):
    with pytest.raises(ValidationError) as error:
        make_event(ends_at=timezone.now(), starts_at=timezone.now() + timedelta(days=1))
    assert "ends_at" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_event(cost=-5)
    assert "cost" in error.value.message_dict


def test_the_worker_delivers_a_text_calendar_part(invited, users, smtp_server):
    from refnet.outbox.worker import deliver_due

    invitations_send(event=invited, by=users["outreach"])
    deliver_due(worker="w1")
    received = smtp_server.wait_for(2)
    for item in received:
        email = item.email
        (part,) = list(email.iter_attachments())
        assert part.get_content_type() == "text/calendar"
        assert part.get_filename() == "invite.ics"
        parsed = ics.parse_event(part.get_content().replace("\r\n", "\n")
                                 .replace("\n", "\r\n"))
        assert parsed["SUMMARY"][0][1] == "Talk at Iron Works Gym"
    assert {r.rcpt_tos[0] for r in received} == {"front@ironworks.example",
                                                 "sam@ironworks.example"}
