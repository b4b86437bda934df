"""A digest goes out through the real worker path: `refnet worker --once` queues it and
delivers it to a real SMTP server on loopback, as one email with text and HTML parts."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command

from refnet.outbox.models import OutboxMessage, OutboxStatus
from refnet.outbox.tests.conftest import smtp_server  # noqa: F401 - the fixture
from refnet.reports.models import DigestSubscription

NY = ZoneInfo("America/New_York")


def test_worker_delivers_the_weekly_digest_as_text_and_html(
        smtp_server, users, make_partner, make_patient, make_referral,  # noqa: F811
        monkeypatch):
    # The command in this process: it must not close the test's database connection.
    monkeypatch.setattr("refnet.outbox.management.commands.worker.close_old_connections",
                        lambda: None)
    mona = users["manager"]
    mona.email = "mona@practice.example"
    mona.save()
    partner = make_partner(name="Alpha Family Medicine", kind="medical_practice")
    patient = make_patient(first_name="Zelda", last_name="Quux")
    make_referral(patient=patient, source_partner=partner,
                  received_at=datetime(2026, 3, 4, 10, tzinfo=NY))
    DigestSubscription.objects.create(user=mona, frequency="weekly",
                                      last_period_end=date(2026, 3, 1))

    with time_machine.travel(datetime(2026, 3, 9, 7, 1, tzinfo=NY), tick=False):
        call_command("worker", "--once", "--name", "digest-test")
        call_command("worker", "--once", "--name", "digest-test")  # nothing more to send

    (received,) = smtp_server.wait_for(1)
    message = OutboxMessage.objects.get(purpose="digest")
    assert message.status == OutboxStatus.SENT
    assert received.rcpt_tos == ["mona@practice.example"]
    email = received.email
    assert email.is_multipart()
    assert "Referral digest, week of Mar 2 to Mar 8, 2026: 1 referrals" in str(email["Subject"])
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Referrals received: 1 (before: 0, new)" in text
    # The same tick's rule pass opened the thank-you before the digest was built.
    assert "- Alpha Family Medicine (1)" in text and "Alpha Family Medicine" in html
    assert "<table" in html and "Referral digest" in html
    for name in ("Zelda", "Quux"):
        assert name not in text and name not in html
    assert OutboxMessage.objects.filter(purpose="digest").count() == 1
