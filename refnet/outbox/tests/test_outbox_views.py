"""The outbox screens: filters, dead letters up front, the message page with its attempts
(content that names a patient only for PATIENTS_VIEW, audited), resend and cancel
permissions, and the letters print batch (audited as PRINT)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.outbox.models import DeliveryAttempt, OutboxMessage, OutboxStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_message(make_partner):
    partner = make_partner("John Smith, MD")

    def make(**fields):
        defaults = dict(
            channel="email", purpose="thank_you", audience="general", partner=partner,
            to_name="John Smith, MD", to_address="smith@example.test",
            subject="Thank you", body_text="Thank you for thinking of us.",
            next_attempt_at=timezone.now(),
        )
        defaults.update(fields)
        return OutboxMessage.objects.create(**defaults)

    return make


@pytest.fixture
def dead_letter(make_message):
    m = make_message(status=OutboxStatus.DEAD, attempts=6, subject="Welcome aboard",
                     last_error="550 5.1.1 mailbox unavailable")
    DeliveryAttempt.objects.create(message=m, at=timezone.now(), worker="w1@host",
                                   result=DeliveryAttempt.Result.FAILED,
                                   error="550 5.1.1 mailbox unavailable", duration_ms=42)
    return m


@pytest.fixture
def naming_patient(make_message, make_referral, make_patient):
    referral = make_referral(patient=make_patient("Ada", "Lovelace"))
    return make_message(audience="clinical", purpose="outcome_update", referral=referral,
                        names_patient=True, subject="Outcome: Ada Lovelace",
                        body_text="Ada Lovelace was seen on Monday.")


def test_dead_letters_head_the_list_with_error_and_attempts(login, dead_letter, make_message):
    make_message(subject="All went well", status=OutboxStatus.SENT)
    html = login("coordinator").get(reverse("outbox:list")).content.decode()
    assert html.index("Failed: gave up") < html.index("All went well")
    assert "550 5.1.1 mailbox unavailable" in html and "6 attempts" in html
    assert reverse("outbox:resend", args=[dead_letter.pk]) in html


def test_outreach_sees_dead_letters_but_no_resend(login, dead_letter):
    html = login("outreach").get(reverse("outbox:list")).content.decode()
    assert "550 5.1.1" in html
    assert reverse("outbox:resend", args=[dead_letter.pk]) not in html


def test_filters_by_status_and_channel_newest_first(login, make_message):
    make_message(subject="old email", status=OutboxStatus.SENT)
    make_message(subject="new email", status=OutboxStatus.SENT)
    make_message(subject="a letter", channel="letter", status=OutboxStatus.SENT,
                 to_address="1 Main St")
    make_message(subject="waiting", status=OutboxStatus.QUEUED)
    client = login("manager")
    html = client.get(reverse("outbox:list"), {"status": "sent", "channel": "email"}
                      ).content.decode()
    assert html.index("new email") < html.index("old email")
    assert "a letter" not in html and "waiting" not in html
    bad = client.get(reverse("outbox:list"), {"status": "lost"}).content.decode()
    assert "Select a valid choice" in bad and "waiting" in bad  # bad filter is ignored, said


def test_list_hides_patient_subject_from_outreach(login, naming_patient):
    html = login("outreach").get(reverse("outbox:list")).content.decode()
    assert "Lovelace" not in html and "content hidden: names a patient" in html
    html = login("coordinator").get(reverse("outbox:list")).content.decode()
    assert "Outcome: Ada Lovelace" in html
    assert AuditEvent.objects.filter(username="cora", action=AuditAction.QUERY,
                                     patient_id=naming_patient.referral.patient_id).exists()


def test_detail_shows_attempts_and_audits_patient_content(login, naming_patient, dead_letter):
    client = login("coordinator")
    html = client.get(reverse("outbox:detail", args=[dead_letter.pk])).content.decode()
    assert "w1@host" in html and "Failed for good" in html and "42" in html
    assert "Failed after 6 attempts" in html
    html = client.get(reverse("outbox:detail", args=[naming_patient.pk])).content.decode()
    assert "Ada Lovelace was seen on Monday." in html
    assert AuditEvent.objects.filter(username="cora", action=AuditAction.VIEW,
                                     what=f"message:{naming_patient.pk}",
                                     patient_id=naming_patient.referral.patient_id).exists()


def test_detail_hides_patient_content_from_outreach(login, naming_patient):
    html = login("outreach").get(reverse("outbox:detail", args=[naming_patient.pk])
                                 ).content.decode()
    assert "Lovelace" not in html and "Content hidden: names a patient." in html
    assert not AuditEvent.objects.filter(username="otto").exists()


def test_resend_puts_a_dead_letter_back_in_the_queue(login, dead_letter):
    response = login("coordinator").post(reverse("outbox:resend", args=[dead_letter.pk]),
                                         follow=True)
    assert "back in the queue" in response.content.decode()
    dead_letter.refresh_from_db()
    assert (dead_letter.status, dead_letter.attempts) == (OutboxStatus.QUEUED, 0)


def test_resend_and_cancel_need_outbox_manage(login, dead_letter, make_message):
    queued = make_message(status=OutboxStatus.QUEUED)
    client = login("outreach")
    assert client.post(reverse("outbox:resend", args=[dead_letter.pk])).status_code == 403
    assert client.post(reverse("outbox:cancel", args=[queued.pk])).status_code == 403
    html = client.get(reverse("outbox:detail", args=[queued.pk])).content.decode()
    assert reverse("outbox:cancel", args=[queued.pk]) not in html
    dead_letter.refresh_from_db()
    queued.refresh_from_db()
    assert (dead_letter.status, queued.status) == (OutboxStatus.DEAD, OutboxStatus.QUEUED)


def test_cancel_a_queued_message_and_refuse_a_sent_one(login, make_message):
    queued = make_message(status=OutboxStatus.QUEUED)
    sent = make_message(status=OutboxStatus.SENT)
    client = login("manager")
    html = client.get(reverse("outbox:detail", args=[queued.pk])).content.decode()
    assert reverse("outbox:cancel", args=[queued.pk]) in html
    client.post(reverse("outbox:cancel", args=[queued.pk]))
    queued.refresh_from_db()
    assert queued.status == OutboxStatus.CANCELLED
    response = client.post(reverse("outbox:cancel", args=[sent.pk]), follow=True)
    assert "Nothing changed: A sent message cannot become cancelled." in (
        response.content.decode())


def test_letters_page_and_print_batch(login, make_message, naming_patient):
    now = timezone.now()
    plain = make_message(channel="letter", status=OutboxStatus.SENT, sent_at=now,
                         to_address="1 Main St\nSpringfield, IL", subject="Season's greetings")
    naming_patient.channel = "letter"
    naming_patient.status = OutboxStatus.SENT
    naming_patient.sent_at = now - timedelta(minutes=5)
    naming_patient.save()
    client = login("coordinator")
    html = client.get(reverse("outbox:letters")).content.decode()
    assert "2 letters waiting" in html and "Print today's letters (2)" in html
    response = client.post(reverse("outbox:letters_print"))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    plain.refresh_from_db()
    assert plain.printed_at is not None
    printed = AuditEvent.objects.filter(action=AuditAction.PRINT)
    assert list(printed.values_list("patient_id", flat=True)) == [
        naming_patient.referral.patient_id]
    again = client.post(reverse("outbox:letters_print"), follow=True).content.decode()
    assert "No letters are waiting to be printed." in again


def test_outreach_may_see_letters_but_not_print(login, make_message):
    make_message(channel="letter", status=OutboxStatus.SENT, sent_at=timezone.now(),
                 to_address="1 Main St")
    client = login("outreach")
    html = client.get(reverse("outbox:letters")).content.decode()
    assert "1 letter waiting" in html and "Print today" not in html
    assert client.post(reverse("outbox:letters_print")).status_code == 403


def test_front_desk_has_no_outbox(login):
    client = login("front_desk")
    assert client.get(reverse("outbox:list")).status_code == 403
    assert "Messages</a>" not in client.get(reverse("followups:inbox")).content.decode()
