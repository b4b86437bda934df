"""A patient's page: demographics, consents, their referrals; clinical notes by role."""

from datetime import date

import pytest
from django.urls import reverse

from refnet.accounts.models import Role
from refnet.accounts.permissions import CAPABILITIES, Cap


@pytest.fixture
def patient(make_patient):
    return make_patient("Ada", "Synthetic", mrn="MRN-0042", birth_date=date(1980, 4, 2),
                        sex="F", phone="217-555-0100", email="ada@example.test",
                        city="Springfield", state="IL", sms_consent=True,
                        federal_program_beneficiary=True, notes="Allergic to latex")


def page(client, patient):
    return client.get(reverse("referrals:patient_detail", args=[patient.pk]))


def test_shows_demographics_and_consents(login, patient):
    response = page(login("front_desk"), patient)

    html = response.content.decode()
    for text in ["Ada Synthetic", "MRN-0042", "04/02/1980", "Female", "217-555-0100",
                 "ada@example.test", "Springfield, IL", "No: generic thanks only", "Consented",
                 "Yes: reward caps apply"]:
        assert text in html, text
    assert response.context["nav"] == "referrals"


def test_lists_this_patients_referrals_only(login, patient, make_referral, make_partner,
                                            make_patient):
    mine = make_referral(patient=patient, source_partner=make_partner("John Smith, MD"))
    make_referral(patient=make_patient("Bob", "Other"),
                  source_partner=make_partner("Peak Fitness", kind="local_business"))

    response = page(login("coordinator"), patient)

    assert [r.pk for r in response.context["referrals"]] == [mine.pk]
    html = response.content.decode()
    assert reverse("referrals:detail", args=[mine.pk]) in html
    assert "John Smith, MD" in html
    assert "Peak Fitness" not in html


def test_clinical_notes_shown_with_clinical_view(login, patient):
    assert "Allergic to latex" in page(login("coordinator"), patient).content.decode()


def test_clinical_notes_hidden_without_clinical_view(login, patient, monkeypatch):
    monkeypatch.setitem(CAPABILITIES, Cap.CLINICAL_VIEW, {Role.COORDINATOR, Role.ADMIN})

    html = page(login("front_desk"), patient).content.decode()

    assert "Ada Synthetic" in html
    assert "Allergic to latex" not in html
    assert "Clinical notes" not in html


def test_outreach_cannot_open_a_patient(login, patient):
    assert page(login("outreach"), patient).status_code == 403
