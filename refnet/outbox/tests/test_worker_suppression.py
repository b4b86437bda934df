"""Do-not-contact and opt-outs are checked again when the message goes out."""

from refnet.outbox.channels.email import message_id_for
from refnet.outbox.models import OutboxStatus
from refnet.outbox.services import suppression_add
from refnet.outbox.worker import deliver_due


def test_partner_marked_do_not_contact_after_queueing_is_not_emailed(smtp_server, enqueue):
    message = enqueue(audience="clinical")
    message.partner.do_not_contact = True
    message.partner.save()

    counts = deliver_due(worker="w1")

    assert counts.suppressed == 1 and counts.sent == 0
    message.refresh_from_db()
    assert message.status == OutboxStatus.SUPPRESSED
    assert "do-not-contact" in message.last_error
    assert [a.result for a in message.delivery_attempts.all()] == ["suppressed"]
    assert smtp_server.message_ids() == []


def test_address_unsubscribed_after_queueing_is_not_emailed(smtp_server, enqueue):
    message = enqueue(audience="clinical", to_address="Pat.Partner@Clinic.example")
    other = enqueue(audience="clinical", to_address="someone.else@clinic.example")
    suppression_add(channel="email", address="  pat.partner@clinic.EXAMPLE ",
                    reason="unsubscribe")

    counts = deliver_due(worker="w1")

    assert (counts.suppressed, counts.sent) == (1, 1)
    message.refresh_from_db()
    assert message.status == OutboxStatus.SUPPRESSED
    assert "opted out" in message.last_error
    assert smtp_server.message_ids() == [message_id_for(other)]
