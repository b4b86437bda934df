"""The compose page: recipient, channel, audience and why, the preview, one Send button."""

import pytest
from django.utils import timezone

from refnet.accounts.models import AuditEvent
from refnet.followups.models import FollowUp
from refnet.outbox.models import OutboxMessage
from refnet.outbox.services import suppression_add


def followup_for(referral=None, partner=None, kind="thank_referrer", assignee=None):
    now = timezone.now()
    key = f"thank:r{referral.pk}" if referral else f"{kind}:p{partner.pk}:test"
    followup, _ = FollowUp.objects.get_or_create(key=key, defaults={
        "kind": kind, "partner": partner or referral.source_partner, "referral": referral,
        "due_at": now, "original_due_at": now, "summary": "Follow up"})
    FollowUp.objects.filter(pk=followup.pk).update(assignee=assignee)
    followup.refresh_from_db()
    return followup


@pytest.fixture
def gym(make_partner):
    return make_partner(name="Iron Gym", kind="local_business", email="desk@irongym.example",
                        phone="(303) 555-0177", preferred_channel="email")


def test_from_a_followup_the_page_shows_recipient_audience_why_and_preview(
        login, users, gym, make_referral, make_patient):
    referral = make_referral(source_partner=gym,
                             patient=make_patient(first_name="Zelda", last_name="Quill"))
    followup = followup_for(referral, assignee=users["coordinator"])
    response = login("coordinator").get(f"/messages/compose/?followup={followup.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "desk@irongym.example" in page
    assert "General: the patient has not authorized us to tell this referrer" in page
    assert "recommending us to the people you know" in page
    assert "Zelda" not in page and "Quill" not in page
    assert "Send email" in page


def test_send_queues_the_message_closes_the_followup_and_returns_to_the_inbox(
        login, users, gym, make_referral):
    referral = make_referral(source_partner=gym)
    followup = followup_for(referral, assignee=users["coordinator"])
    client = login("coordinator")
    response = client.post("/messages/compose/", {"followup": followup.pk, "channel": "sms"})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    message = OutboxMessage.objects.get()
    assert message.channel == "sms" and message.to_address == "(303) 555-0177"
    assert message.body_text.endswith("Reply STOP to opt out.")
    followup.refresh_from_db()
    assert followup.status == "done" and followup.message == message
    assert "queued" in client.get("/inbox/").content.decode()
    # A second click finds the follow-up done: no second message.
    again = client.post("/messages/compose/", {"followup": followup.pk, "channel": "sms"})
    assert again.status_code == 400 and OutboxMessage.objects.count() == 1


def test_a_message_naming_a_patient_is_audited_and_hidden_from_outreach(
        login, users, make_partner, make_referral, make_patient):
    doctor = make_partner(name="John Smith, MD", kind="clinician", email="js@clinic.example")
    referral = make_referral(source_partner=doctor,
                             patient=make_patient(first_name="Zelda", last_name="Quill"))
    url = f"/messages/compose/?partner={doctor.pk}&purpose=thank_you&referral={referral.pk}"
    response = login("coordinator").get(url)
    assert response.status_code == 200 and "Zelda Quill" in response.content.decode()
    assert "Clinical: a referring clinician" in response.content.decode()
    assert AuditEvent.objects.filter(user=users["coordinator"], patient_id=referral.patient_id,
                                     action="view").exists()
    assert login("outreach").get(url).status_code == 404
    assert login("outreach").post(url.replace("?", "?x=1&")).status_code in (404, 400)


def test_outreach_may_send_a_check_in_that_names_nobody(login, gym):
    client = login("outreach")
    url = f"/messages/compose/?partner={gym.pk}&purpose=check_in"
    assert client.get(url).status_code == 200
    response = client.post("/messages/compose/", {"partner": gym.pk, "purpose": "check_in"})
    assert response.status_code == 302
    assert OutboxMessage.objects.get().purpose == "check_in"


@pytest.mark.parametrize("why", ["do_not_contact", "unsubscribed"])
def test_a_recipient_who_may_not_be_contacted_gets_no_send_button(login, gym, why):
    if why == "do_not_contact":
        type(gym).objects.filter(pk=gym.pk).update(do_not_contact=True)
        expected = "marked do-not-contact"
    else:
        suppression_add(channel="email", address="Desk@IronGym.example", reason="unsubscribe")
        expected = "opted out of email"
    client = login("manager")
    page = client.get(f"/messages/compose/?partner={gym.pk}&purpose=check_in").content.decode()
    assert expected in page and "Send email" not in page
    response = client.post("/messages/compose/", {"partner": gym.pk, "purpose": "check_in"})
    assert response.status_code == 400 and not OutboxMessage.objects.exists()


def test_bad_input_names_the_field(login, gym):
    client = login("manager")
    response = client.get("/messages/compose/")
    assert response.status_code == 400 and "Choose the partner" in response.content.decode()
    response = client.get(f"/messages/compose/?partner={gym.pk}&purpose=nonsense")
    assert response.status_code == 400 and "purpose" in response.content.decode()


def test_someone_elses_followup_is_not_found(login, users, gym, make_referral):
    followup = followup_for(make_referral(source_partner=gym), assignee=users["coordinator"])
    assert login("front_desk").get(f"/messages/compose/?followup={followup.pk}"
                                   ).status_code == 404
    assert login("manager").get(f"/messages/compose/?followup={followup.pk}"
                                ).status_code == 200


def test_a_referral_from_someone_else_is_refused_before_any_preview(
        login, gym, make_partner, make_referral, make_patient):
    doctor = make_partner(name="John Smith, MD", kind="clinician", email="js@clinic.example")
    referral = make_referral(source_partner=gym, patient=make_patient(first_name="Zelda"))
    url = f"/messages/compose/?partner={doctor.pk}&purpose=thank_you&referral={referral.pk}"
    response = login("manager").get(url)
    page = response.content.decode()
    assert response.status_code == 400 and "did not come from John Smith, MD" in page
    assert "Zelda" not in page and "Send email" not in page
