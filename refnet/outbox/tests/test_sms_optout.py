"""SMS: opt-out and opt-in words, quiet hours, and the file backend."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from refnet.outbox.models import InboundSms, OutboxStatus, Suppression
from refnet.outbox.services import sms_inbound_record
from refnet.outbox.worker import deliver_due

DENVER_NUMBER = "+1 (303) 555-0142"
NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop! ", "STOPALL", "quit", "END",
                                  "revoke", "OPT OUT", "opt  out.", "OptOut", "cancel",
                                  "UNSUBSCRIBE"])
def test_opt_out_words_stop_texts_to_that_number(db, enqueue, body):
    inbound = sms_inbound_record(from_number=DENVER_NUMBER, body=body)

    assert inbound.action == "opt_out"
    assert Suppression.objects.filter(channel="sms", address="3035550142",
                                      reason="sms_stop").exists()
    with pytest.raises(ValidationError) as error:
        enqueue(channel="sms", to_address="303-555-0142")
    assert "to_address" in error.value.message_dict


@pytest.mark.parametrize("body", ["please stop calling me at work", "STOP IT NOW", "Thanks!"])
def test_other_texts_are_kept_but_change_nothing(db, body):
    inbound = sms_inbound_record(from_number=DENVER_NUMBER, body=body)

    assert inbound.action == ""
    assert InboundSms.objects.get().body == body
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_start_words_opt_back_in(db, enqueue, word):
    sms_inbound_record(from_number=DENVER_NUMBER, body="STOP")

    inbound = sms_inbound_record(from_number="3035550142", body=word)

    assert inbound.action == "opt_in"
    assert not Suppression.objects.exists()
    assert enqueue(channel="sms").status == OutboxStatus.QUEUED


def test_number_that_stopped_after_queueing_is_suppressed_at_delivery(db, enqueue):
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=NY), tick=False):
        message = enqueue(channel="sms")
        sms_inbound_record(from_number=DENVER_NUMBER, body="STOP")

        assert deliver_due(worker="w1").suppressed == 1

    message.refresh_from_db()
    assert message.status == OutboxStatus.SUPPRESSED


def test_text_queued_at_night_waits_for_eight_in_the_morning(db, enqueue, outbox_data_dir):
    with time_machine.travel(datetime(2026, 3, 10, 22, 0, tzinfo=NY), tick=False) as clock:
        message = enqueue(channel="sms", body_text="Thanks for the referral!")
        assert message.next_attempt_at == datetime(2026, 3, 11, 8, 0, tzinfo=NY)
        assert deliver_due(worker="w1").sent == 0

        clock.move_to(datetime(2026, 3, 11, 8, 0, tzinfo=NY))
        assert deliver_due(worker="w1").sent == 1

    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    lines = (outbox_data_dir / "sms" / "outbox.jsonl").read_text().splitlines()
    (line,) = [json.loads(text) for text in lines]
    assert line["to"] == "(303) 555-0142"
    assert line["body"] == "Thanks for the referral!"
    assert line["outbox_id"] == message.pk
    assert message.provider_ref == line["id"]


def test_text_due_in_the_day_but_delivered_after_nine_pm_is_put_back_uncounted(db, enqueue):
    with time_machine.travel(datetime(2026, 3, 10, 20, 59, tzinfo=NY), tick=False) as clock:
        message = enqueue(channel="sms")
        clock.shift(timedelta(minutes=2))  # the worker gets to it at 21:01

        counts = deliver_due(worker="w1")

    assert counts.deferred == 1 and counts.sent == 0
    message.refresh_from_db()
    assert message.status == OutboxStatus.QUEUED
    assert message.attempts == 0
    assert message.next_attempt_at == datetime(2026, 3, 11, 8, 0, tzinfo=NY)
    assert not message.delivery_attempts.exists()
