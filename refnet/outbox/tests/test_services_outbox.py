"""outbox.services: what may be queued, idempotency, cancel, suppressions."""

import pytest
from django.core.exceptions import ValidationError

from refnet.outbox.models import OutboxMessage, OutboxStatus, Suppression
from refnet.outbox.services import (
    contact_blocked,
    message_cancel,
    suppression_add,
    suppression_remove,
)


def test_same_dedupe_key_returns_the_first_message(enqueue, make_partner):
    partner = make_partner(name="Peak Gym", kind="local_business")
    first = enqueue(partner=partner, dedupe_key="auto:thank:r1", subject="First")

    again = enqueue(partner=partner, dedupe_key="auto:thank:r1", subject="Second")

    assert again.pk == first.pk
    assert OutboxMessage.objects.get().subject == "First"


def test_new_message_is_due_now_with_attempts_from_settings(enqueue, settings):
    settings.REFNET_OUTBOX_MAX_ATTEMPTS = 3

    message = enqueue()

    assert (message.status, message.attempts, message.max_attempts) == ("queued", 0, 3)
    assert message.next_attempt_at is not None


def test_do_not_contact_partner_is_refused_naming_the_partner(enqueue, make_partner):
    partner = make_partner(name="Quiet Clinic", kind="medical_practice", do_not_contact=True)

    with pytest.raises(ValidationError) as error:
        enqueue(partner=partner)

    assert "Quiet Clinic is marked do-not-contact" in error.value.message_dict["partner"][0]
    assert not OutboxMessage.objects.exists()


def test_suppressed_address_is_refused_whatever_its_case(enqueue):
    suppression_add(channel="email", address="Pat.Partner@clinic.example",
                    reason="unsubscribe")

    with pytest.raises(ValidationError) as error:
        enqueue(to_address=" PAT.PARTNER@CLINIC.EXAMPLE ")

    assert "opted out" in error.value.message_dict["to_address"][0]


def test_suppression_is_per_channel(db, make_partner):
    suppression_add(channel="sms", address="303-555-0142", reason="sms_stop")
    partner = make_partner(name="Peak Gym", kind="local_business")

    assert contact_blocked(channel="sms", partner=partner, address="(303) 555-0142")
    assert contact_blocked(channel="fax", partner=partner, address="(303) 555-0142") is None
    assert suppression_remove(channel="sms", address="+1 303 555 0142") is True
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("field,value", [("channel", "pigeon"), ("audience", "everyone"),
                                         ("to_address", "  "), ("body_text", "")])
def test_bad_input_names_the_field(enqueue, field, value):
    fields = {field: value}
    if field == "channel":
        fields["to_address"] = "pat@clinic.example"

    with pytest.raises(ValidationError) as error:
        enqueue(**fields)

    assert field in error.value.message_dict


def test_cancel_a_queued_message_and_not_a_sent_one(enqueue, users):
    message = enqueue()

    message_cancel(message=message, by=users["coordinator"])

    message.refresh_from_db()
    assert message.status == OutboxStatus.CANCELLED
    message.status = OutboxStatus.SENT
    message.save()
    with pytest.raises(ValidationError) as error:
        message_cancel(message=message, by=users["coordinator"])
    assert "status" in error.value.message_dict


def test_suppressed_message_is_not_resent_while_still_opted_out(enqueue, users):
    from refnet.outbox.services import message_resend

    message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxStatus.SUPPRESSED)
    suppression_add(channel="email", address=message.to_address, reason="unsubscribe")

    with pytest.raises(ValidationError) as error:
        message_resend(message=message, by=users["coordinator"])
    assert "to_address" in error.value.message_dict

    suppression_remove(channel="email", address=message.to_address)
    assert message_resend(message=message, by=users["coordinator"]).status == "queued"
