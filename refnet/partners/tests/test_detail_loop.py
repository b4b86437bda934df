"""The partner page's "Follow-ups and messages": what we owe the partner and what we sent,
without ever naming a patient."""

from django.urls import reverse

from refnet.followups.models import FollowUp
from refnet.outbox.compose import message_send


def test_partner_page_lists_open_followups_and_messages_without_patient_names(
        login, make_partner, make_patient, make_referral, users):
    partner = make_partner("Ruth Okafor, MD", email="ruth@clinic.example",
                           owner=users["coordinator"])
    patient = make_patient(first_name="Wilhelmina", last_name="Zed")
    referral = make_referral(patient=patient, source_partner=partner)
    thank_you = FollowUp.objects.get(key=f"thank:r{referral.pk}")
    message_send(purpose="outcome_update", channel="email", partner=partner,
                 referral=referral, by=users["coordinator"])

    page = login("outreach").get(reverse("partners:detail", args=[partner.pk]))
    html = page.content.decode()
    assert thank_you.summary in html
    assert "Outcome update to the referring clinician" in html and "Queued" in html
    assert "Wilhelmina" not in html  # the subject names her; the page shows the purpose

    page = login("front_desk").get(reverse("partners:detail", args=[partner.pk]))
    assert thank_you.summary in page.content.decode()
    assert "Latest messages" not in page.content.decode()  # no outbox capability
