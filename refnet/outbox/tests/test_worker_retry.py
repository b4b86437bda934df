"""Retries with growing backoff, dead letters with their error, resend, permanent errors."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from refnet.outbox.channels.email import message_id_for
from refnet.outbox.models import OutboxStatus
from refnet.outbox.services import message_resend
from refnet.outbox.worker import deliver_due

START = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def backoff(settings):
    settings.REFNET_OUTBOX_BACKOFF_SECONDS = 60
    settings.REFNET_OUTBOX_BACKOFF_MAX_SECONDS = 3600
    settings.REFNET_OUTBOX_MAX_ATTEMPTS = 4


def test_temporary_failures_back_off_longer_each_time_then_deliver(
        smtp_server, enqueue, backoff):
    with time_machine.travel(START, tick=False) as clock:
        message = enqueue(audience="clinical")
        smtp_server.fail_next(451, count=2)
        delays = []
        for _ in range(2):
            assert deliver_due(worker="w1").retry == 1
            message.refresh_from_db()
            assert message.status == OutboxStatus.QUEUED
            assert "451" in message.last_error
            delays.append((message.next_attempt_at - timezone.now()).total_seconds())
            # Not due yet: a tick before the backoff sends nothing.
            assert deliver_due(worker="w1").sent == 0
            clock.shift(timedelta(seconds=delays[-1] + 1))

        assert deliver_due(worker="w1").sent == 1

    assert 60 * 0.85 <= delays[0] <= 60 * 1.15
    assert 120 * 0.85 <= delays[1] <= 120 * 1.15
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 3
    assert [a.result for a in message.delivery_attempts.all()] == ["retry", "retry", "sent"]
    assert smtp_server.message_ids() == [message_id_for(message)]


def test_dead_letter_after_max_attempts_keeps_the_error_and_resend_delivers_it(
        smtp_server, enqueue, backoff, users):
    with time_machine.travel(START, tick=False) as clock:
        message = enqueue(audience="clinical")
        smtp_server.fail_next(421, count=4, text="4.7.0 Too many connections")
        for _ in range(4):
            deliver_due(worker="w1")
            clock.shift(timedelta(hours=2))
        message.refresh_from_db()
        assert message.status == OutboxStatus.DEAD
        assert message.attempts == 4
        assert "421" in message.last_error and "Too many connections" in message.last_error
        assert [a.result for a in message.delivery_attempts.all()] == \
            ["retry", "retry", "retry", "failed"]
        assert deliver_due(worker="w1").sent == 0  # a dead letter is not retried by itself

        message_resend(message=message, by=users["coordinator"])
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxStatus.QUEUED, 0)
        assert deliver_due(worker="w1").sent == 1

    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert smtp_server.message_ids() == [message_id_for(message)]


def test_permanent_550_is_dead_at_once(smtp_server, enqueue, backoff):
    message = enqueue(audience="clinical")
    smtp_server.fail_next(550)

    counts = deliver_due(worker="w1")

    assert counts.dead == 1 and counts.retry == 0
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD
    assert message.attempts == 1
    assert message.last_error.startswith("SMTP 550")
    assert smtp_server.message_ids() == []


def test_connection_refused_is_retried(enqueue, backoff, settings):
    from refnet.outbox.tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    message = enqueue(audience="clinical")

    assert deliver_due(worker="w1").retry == 1

    message.refresh_from_db()
    assert message.status == OutboxStatus.QUEUED
    assert "ConnectionRefused" in message.last_error


def test_only_dead_or_suppressed_messages_can_be_resent(enqueue, users):
    message = enqueue(audience="clinical")

    with pytest.raises(ValidationError) as error:
        message_resend(message=message, by=users["coordinator"])

    assert "status" in error.value.message_dict
