"""A referral removed as entered by mistake thanks nobody: its queued thank-you is
cancelled when it is removed, and a message the removal could not see (queued in a race,
or put back by hand) is cancelled by the worker instead of sent."""

import pytest
from django.utils import timezone

from refnet.followups.models import PartnerRuleOverride, RuleKind, RuleMode
from refnet.outbox.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from refnet.outbox.worker import deliver_due
from refnet.referrals.models import Referral
from refnet.referrals.services import referral_remove, referral_restore


@pytest.fixture
def auto_thanked(make_partner, make_referral):
    """A referral whose source is thanked automatically: its thank-you is queued."""
    partner = make_partner(name="Auto Send, MD", email="auto.send@example.org")
    PartnerRuleOverride.objects.create(partner=partner, kind=RuleKind.THANK_REFERRER,
                                       mode=RuleMode.AUTO)
    referral = make_referral(source_partner=partner)
    message = OutboxMessage.objects.get(referral=referral)
    assert message.status == OutboxStatus.QUEUED
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    return referral, message


def test_removing_cancels_the_queued_thank_you_and_nothing_is_sent(
        smtp_server, auto_thanked, users):
    referral, message = auto_thanked
    removal = referral_remove(referral=referral, by=users["manager"], reason="Duplicate")
    assert removal.messages_cancelled == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.CANCELLED
    assert "was removed" in message.last_error

    counts = deliver_due(worker="w1")
    assert counts.sent == 0
    assert smtp_server.received == []
    # Restoring the referral does not send it after all.
    referral_restore(referral=referral, by=users["manager"])
    deliver_due(worker="w1")
    message.refresh_from_db()
    assert message.status == OutboxStatus.CANCELLED and smtp_server.received == []


def test_the_worker_cancels_a_message_of_a_removed_referral_instead_of_sending(
        smtp_server, auto_thanked):
    referral, message = auto_thanked
    # Removed without the service's cancelling (as if the message was queued meanwhile).
    Referral.all_objects.filter(pk=referral.pk).update(removed_at=timezone.now())

    counts = deliver_due(worker="w1")

    assert (counts.sent, counts.cancelled) == (0, 1)
    assert smtp_server.received == []
    message.refresh_from_db()
    assert message.status == OutboxStatus.CANCELLED
    assert [a.result for a in DeliveryAttempt.objects.filter(message=message)] == [
        DeliveryAttempt.Result.CANCELLED]


def test_other_messages_still_go_out(smtp_server, auto_thanked, enqueue):
    referral, _message = auto_thanked
    other = enqueue(subject="Thanks for the visit")
    referral_remove(referral=referral, by=None, reason="Test entry")
    assert deliver_due(worker="w1").sent == 1
    smtp_server.wait_for(1)
    other.refresh_from_db()
    assert other.status == OutboxStatus.SENT
