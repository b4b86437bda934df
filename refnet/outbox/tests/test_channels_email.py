"""Email to a real SMTP server on loopback: both parts, the headers, one connection."""

import pytest

from refnet.outbox.channels.email import message_id_for
from refnet.outbox.models import OutboxMessage, OutboxStatus
from refnet.outbox.worker import deliver_due


@pytest.mark.parametrize("audience", ["general", "named"])
def test_non_clinical_email_has_both_parts_and_one_click_unsubscribe(
        smtp_server, enqueue, audience):
    message = enqueue(audience=audience, subject="Thanks from Front Range PT",
                      body_text="Thank you!", body_html="<p>Thank <b>you</b>!</p>")

    counts = deliver_due(worker="w1")

    assert counts.sent == 1
    (received,) = smtp_server.wait_for(1)
    email = received.email
    assert received.message_id == message_id_for(message)
    assert email["Subject"] == "Thanks from Front Range PT"
    assert received.rcpt_tos == ["pat.partner@clinic.example"]
    assert email.get_body(("plain",)).get_content().strip() == "Thank you!"
    assert email.get_body(("html",)).get_content().strip() == "<p>Thank <b>you</b>!</p>"
    assert str(email["List-Unsubscribe"]).strip().startswith("<http://127.0.0.1:8000/u/")
    assert str(email["List-Unsubscribe"]).strip().endswith("/>")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.provider_ref == received.message_id
    assert message.sent_at is not None
    assert [a.result for a in message.delivery_attempts.all()] == ["sent"]


def test_clinical_email_has_no_unsubscribe_header_and_text_only(smtp_server, enqueue):
    message = enqueue(audience="clinical", body_text="Your patient was seen today.")

    deliver_due(worker="w1")

    (received,) = smtp_server.wait_for(1)
    email = received.email
    assert "List-Unsubscribe" not in email
    assert "List-Unsubscribe-Post" not in email
    assert not email.is_multipart()
    assert email.get_content().strip() == "Your patient was seen today."
    assert received.message_id == message_id_for(message)


def test_a_batch_shares_one_smtp_connection(smtp_server, enqueue, settings):
    settings.REFNET_OUTBOX_BATCH = 10
    for _ in range(5):
        enqueue(audience="clinical")

    counts = deliver_due(worker="w1")

    assert counts.sent == 5 and counts.batches == 1
    received = smtp_server.wait_for(5)
    assert len({r.peer for r in received}) == 1
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 5


def test_an_attachment_arrives_with_the_email(smtp_server, enqueue):
    ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    enqueue(purpose="event_invite", attachments=[
        {"filename": "invite.ics", "content_type": "text/calendar", "content": ics}])

    deliver_due(worker="w1")

    (received,) = smtp_server.wait_for(1)
    (part,) = list(received.email.iter_attachments())
    assert part.get_filename() == "invite.ics"
    assert part.get_content_type() == "text/calendar"
    assert part.get_content().replace("\r\n", "\n") == ics.replace("\r\n", "\n")


def test_attachments_are_refused_on_other_channels_and_when_malformed(enqueue):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        enqueue(channel="letter", attachments=[
            {"filename": "a.ics", "content_type": "text/calendar", "content": "x"}])
    with pytest.raises(ValidationError):
        enqueue(attachments=[{"filename": "a.ics"}])
