"""Who gets an update, by which channel, and who is skipped and why."""

import pytest
from django.core.exceptions import ValidationError

from refnet.outbox.models import MessageChannel, OutboxMessage, OutboxStatus
from refnet.outbox.services import suppression_add
from refnet.updates.models import DeliveryStatus, SkipReason, UpdateStatus
from refnet.updates.services import (
    send_batch,
    update_create,
    update_plan,
    update_publish,
    updates_tick,
)

from .conftest import T0


def _publish(by, audience=None, title="Saturday hours", body="Open 8 to 12."):
    update = update_create(by=by, title=title, body=body, kind="news", audience=audience or {})
    update_publish(update=update, by=by)
    update.refresh_from_db()
    return update


def test_do_not_contact_partner_gets_nothing_and_the_record_says_why(clock, users,
                                                                     make_partner):
    quiet = make_partner(name="Quiet Realty", kind="local_business", category="realtor",
                         email="q@realty.example", do_not_contact=True)
    update = _publish(users["outreach"])
    delivery = update.deliveries.get(partner=quiet)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason == SkipReason.DO_NOT_CONTACT
    assert delivery.get_skip_reason_display() == "Asked for no contact"
    assert not OutboxMessage.objects.filter(partner=quiet).exists()
    assert update.status == UpdateStatus.DONE


def test_an_address_that_opted_out_is_skipped_not_rerouted(clock, users, make_partner):
    partner = make_partner(name="Lotus Yoga", kind="local_business", category="sports_yoga",
                           email="Hello@Lotus.example", address_line="1 Pine St",
                           city="Denver", state="CO")
    suppression_add(channel="email", address="hello@lotus.example", reason="unsubscribe")
    update = _publish(users["outreach"])
    delivery = update.deliveries.get(partner=partner)
    assert delivery.status == DeliveryStatus.SKIPPED
    assert delivery.skip_reason == SkipReason.SUPPRESSED
    assert "opted out" in delivery.skip_detail
    assert not OutboxMessage.objects.filter(partner=partner).exists()


@pytest.mark.parametrize(("fields", "expected"), [
    ({"preferred_channel": "fax", "fax": "303-555-0111", "email": "a@b.example"}, "fax"),
    ({"preferred_channel": "sms", "phone": "303-555-0112"}, "sms"),
    ({"preferred_channel": "phone", "phone": "303-555-0113", "email": "a@b.example"},
     "email"),
    ({"preferred_channel": "portal", "address_line": "9 Elm St", "city": "Denver"}, "letter"),
    ({"preferred_channel": "letter", "email": "a@b.example"}, "email"),
])
def test_the_channel_is_the_preferred_one_or_email_then_letter(clock, users, make_partner,
                                                              fields, expected):
    partner = make_partner(name="Dr. Ana Ruiz", kind="clinician", **fields)
    update = _publish(users["outreach"])
    delivery = update.deliveries.get(partner=partner)
    assert delivery.channel == expected
    assert delivery.message.channel == expected
    # a clinician is the clinical audience in the outbox; the content is the same for all
    assert delivery.message.audience == "clinical"
    assert delivery.message.names_patient is False


def test_sms_carries_the_titles_and_the_opt_out_line(clock, users, make_partner):
    partner = make_partner(name="Coach Kim", kind="local_business", category="gym_trainer",
                           preferred_channel="sms", phone="303-555-0199")
    update = _publish(users["outreach"], title="Free injury screens in May",
                      body="A long body that does not fit in a text.")
    body = update.deliveries.get(partner=partner).message.body_text
    assert body.startswith("Front Range Physical Therapy: Free injury screens in May.")
    assert "long body" not in body
    assert body.endswith("Reply STOP to opt out.")


def test_email_has_the_unsubscribe_link_and_hostile_text_stays_text(clock, users,
                                                                     make_partner):
    partner = make_partner(name="<b>Bold</b> Gym", kind="local_business",
                           category="gym_trainer", email="bold@gym.example")
    update = _publish(users["outreach"], title="Prices <script>x()</script>",
                      body="Hi {{ partner.name }} & co.")
    message = update.deliveries.get(partner=partner).message
    assert "Hi <b>Bold</b> Gym & co." in message.body_text
    assert "<script>" not in message.body_html
    assert "&lt;script&gt;" in message.body_html
    assert "/u/unsubscribe/" in message.body_text


def test_no_address_anywhere_is_skipped_with_what_is_missing(clock, users, make_partner):
    partner = make_partner(name="Nowhere Shop", kind="local_business", category="shop",
                           preferred_channel="fax")
    update = _publish(users["outreach"])
    delivery = update.deliveries.get(partner=partner)
    assert delivery.skip_reason == SkipReason.NO_ADDRESS
    assert delivery.skip_detail == ("Nowhere Shop has no address for fax or email or "
                                    "printed letter.")


def test_the_audience_filter_and_the_preview(clock, users, make_partner):
    make_partner(name="Dr. One", kind="clinician", email="one@x.example", stage="active")
    make_partner(name="Dr. Two", kind="clinician", fax="303-555-0101",
                 preferred_channel="fax", stage="active")
    make_partner(name="Dr. Three", kind="clinician", stage="active")
    make_partner(name="Dr. Four", kind="clinician", email="4@x.example", stage="declined")
    make_partner(name="Gym", kind="local_business", category="gym_trainer",
                 email="g@x.example", stage="active")
    plan = update_plan(audience={"kinds": ["clinician"], "stages": ["active"]})
    assert plan.partners == 3
    assert plan.now == {"Email": 1, "Fax": 1}
    assert plan.skipped == {"No address to send to": 1}
    assert OutboxMessage.objects.count() == 0  # a preview sends nothing


def test_a_second_claim_of_the_same_batch_sends_nothing(clock, users, gym):
    update = update_create(by=None, title="Saturday hours", body="Open.", audience={})
    update_publish(update=update, by=None)
    delivery = update.deliveries.get()
    assert send_batch(partner_id=gym.pk, now=T0) is None  # already queued by the publish
    assert updates_tick()["update_batches"] == 0
    assert OutboxMessage.objects.filter(partner=gym).count() == 1
    assert delivery.message_id is not None


def test_the_record_follows_the_outbox(clock, users, make_partner, gym):
    other = make_partner(name="Lotus Yoga", kind="local_business", category="sports_yoga",
                         email="hi@lotus.example")
    update = _publish(users["outreach"])
    sent = update.deliveries.get(partner=gym)
    dead = update.deliveries.get(partner=other)
    OutboxMessage.objects.filter(pk=sent.message_id).update(status=OutboxStatus.SENT,
                                                            sent_at=T0)
    OutboxMessage.objects.filter(pk=dead.message_id).update(status=OutboxStatus.DEAD,
                                                            last_error="550 no such user")
    assert updates_tick()["update_deliveries_followed"] == 2
    sent.refresh_from_db()
    dead.refresh_from_db()
    assert (sent.status, sent.sent_at) == (DeliveryStatus.SENT, T0)
    assert (dead.status, dead.skip_reason, dead.skip_detail) == (
        DeliveryStatus.SKIPPED, SkipReason.FAILED, "550 no such user")
    update.refresh_from_db()
    assert update.status == UpdateStatus.DONE


def test_patient_placeholders_are_refused_with_the_field_named(users):
    with pytest.raises(ValidationError) as error:
        update_create(by=None, title="Hi", body="We saw {{ patient.name }}.", audience={})
    assert "patient.name" in str(error.value.message_dict["body"])
    with pytest.raises(ValidationError) as error:
        update_create(by=None, title="Hi {% load static %}", body="x", audience={})
    assert "title" in error.value.message_dict


def test_bad_audience_values_are_named(users):
    with pytest.raises(ValidationError) as error:
        update_create(by=None, title="Hi", body="x", audience={"stages": ["sleeping"]})
    assert "sleeping" in str(error.value.message_dict["stages"])


def test_publishing_to_nobody_is_refused_and_leaves_the_draft(users):
    update = update_create(by=None, title="Hi", body="x", audience={"kinds": ["clinician"]})
    with pytest.raises(ValidationError):
        update_publish(update=update, by=None)
    update.refresh_from_db()
    assert update.status == UpdateStatus.DRAFT
    assert update.deliveries.count() == 0


def test_channels_are_the_outbox_ones():
    assert {"email", "letter", "sms", "fax"} == set(MessageChannel.values)
