"""The outbox shows a dead letter with its error, and Resend puts it back in the queue."""

import pytest
from django.utils import timezone

from refnet.outbox.models import DeliveryAttempt, OutboxMessage, OutboxStatus

from .test_intake_keyboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dead_letter_resend(page, live_server, users, make_partner, screenshot):
    smith = make_partner("John Smith, MD")
    for i, status in enumerate([OutboxStatus.SENT, OutboxStatus.SENT, OutboxStatus.QUEUED]):
        OutboxMessage.objects.create(
            channel="email", purpose="check_in", audience="clinical", partner=smith,
            to_name="John Smith, MD", to_address="smith@example.test",
            subject=f"News from the clinic #{i}", body_text="Hello.", status=status,
            next_attempt_at=timezone.now())
    dead = OutboxMessage.objects.create(
        channel="email", purpose="thank_you", audience="general", partner=smith,
        to_name="Peak Fitness Gym", to_address="front@peak.example.test",
        subject="Thank you", body_text="Thank you for thinking of us.",
        status=OutboxStatus.DEAD, attempts=6, next_attempt_at=timezone.now(),
        last_error="550 5.1.1 <front@peak.example.test>: mailbox unavailable")
    DeliveryAttempt.objects.create(message=dead, at=timezone.now(), worker="worker-1",
                                   result="failed", error=dead.last_error, duration_ms=37)

    log_in(page, live_server, "cora")
    page.wait_for_url("**/referrals/")
    page.get_by_role("link", name="Messages").click()
    box = page.locator(".outbox-deadbox")
    assert "mailbox unavailable" in box.inner_text() and "6 attempts" in box.inner_text()
    screenshot("outbox")

    page.get_by_role("link", name="Email to Peak Fitness Gym").click()
    page.wait_for_selector("text=Failed after 6 attempts")
    screenshot("outbox-message")
    page.get_by_role("button", name="Resend").click()
    page.wait_for_selector("text=back in the queue")
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (OutboxStatus.QUEUED, 0)
    assert "Queued" in page.inner_text("h1")
