"""message_send: render + enqueue + the follow-up done, in one transaction."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpStatus
from refnet.outbox.compose import message_send
from refnet.outbox.models import MessageTemplate, OutboxMessage


@pytest.fixture
def doctor(make_partner):
    return make_partner(name="John Smith, MD", kind="clinician", email="js@clinic.example",
                        fax="(303) 555-0190")


def thank_followup(referral, assignee=None) -> FollowUp:
    """The thank-you follow-up for a referral (the rules may already have made it)."""
    now = timezone.now()
    followup, _ = FollowUp.objects.get_or_create(
        key=f"thank:r{referral.pk}",
        defaults={"kind": "thank_referrer", "partner": referral.source_partner,
                  "referral": referral, "due_at": now, "original_due_at": now,
                  "summary": "Thank the referrer"})
    FollowUp.objects.filter(pk=followup.pk).update(assignee=assignee)
    followup.refresh_from_db()
    return followup


def test_sending_queues_the_rendered_message_and_closes_the_followup(doctor, make_referral,
                                                                     users):
    referral = make_referral(source_partner=doctor)
    followup = thank_followup(referral, users["coordinator"])
    message = message_send(purpose="thank_you", partner=doctor, referral=referral,
                           by=users["coordinator"], followup=followup)
    assert message.status == "queued" and message.channel == "email"
    assert message.to_address == "js@clinic.example" and message.audience == "clinical"
    assert message.subject == "Thank you for referring Ada Synthetic"
    assert "Dear Dr. Smith," in message.body_text and "Ada Synthetic" in message.body_html
    assert message.names_patient and message.created_by == users["coordinator"]
    assert message.template == MessageTemplate.objects.get(
        purpose="thank_you", channel="email", audience="clinical")
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.DONE and followup.done_how == "sent"
    assert followup.message == message and followup.completed_by == users["coordinator"]
    assert followup.completed_at is not None


def test_a_failure_leaves_nothing_behind(doctor, make_referral, users):
    """No template for the channel: no message, and the follow-up stays open."""
    referral = make_referral(source_partner=doctor)
    followup = thank_followup(referral)
    MessageTemplate.objects.filter(purpose="thank_you", channel="fax").delete()
    with pytest.raises(ValidationError, match="no active fax template"):
        message_send(purpose="thank_you", channel="fax", partner=doctor, referral=referral,
                     by=users["manager"], followup=followup)
    assert not OutboxMessage.objects.exists()
    followup.refresh_from_db()
    assert followup.status == FollowUpStatus.OPEN


def test_a_followup_already_done_rolls_the_message_back(doctor, make_referral, users):
    referral = make_referral(source_partner=doctor)
    followup = thank_followup(referral)
    FollowUp.objects.filter(pk=followup.pk).update(status=FollowUpStatus.SKIPPED)
    with pytest.raises(ValidationError, match="already skipped"):
        message_send(purpose="thank_you", partner=doctor, referral=referral,
                     by=users["manager"], followup=followup)
    assert not OutboxMessage.objects.exists()


def test_the_channel_defaults_to_the_partners_preferred_one(make_partner, users):
    fax_first = make_partner(name="Lakeside Family Medicine", kind="medical_practice",
                             email="front@lakeside.example", fax="(303) 555-0191",
                             preferred_channel="fax")
    message = message_send(purpose="check_in", partner=fax_first, by=users["outreach"])
    assert message.channel == "fax" and message.to_address == "(303) 555-0191"


def test_do_not_contact_is_refused(make_partner, users):
    quiet = make_partner(name="Quiet Gym", kind="local_business", email="q@gym.example",
                         do_not_contact=True)
    with pytest.raises(ValidationError, match="do-not-contact"):
        message_send(purpose="check_in", partner=quiet, by=users["outreach"])
    assert not OutboxMessage.objects.exists()


def test_a_referral_can_only_be_written_about_to_its_source(doctor, make_partner,
                                                            make_referral, users):
    other = make_partner(name="Jane Roe, MD", kind="clinician", email="jr@clinic.example")
    referral = make_referral(source_partner=doctor)
    with pytest.raises(ValidationError, match="did not come from Jane Roe"):
        message_send(purpose="outcome_update", partner=other, referral=referral,
                     by=users["manager"])


def test_the_same_dedupe_key_sends_once(doctor, make_referral, users):
    referral = make_referral(source_partner=doctor)
    first = message_send(purpose="thank_you", partner=doctor, referral=referral,
                         by=None, dedupe_key=f"auto:thank:r{referral.pk}")
    again = message_send(purpose="thank_you", partner=doctor, referral=referral,
                         by=None, dedupe_key=f"auto:thank:r{referral.pk}")
    assert first.pk == again.pk and OutboxMessage.objects.count() == 1
