"""The front desk's "Who can we thank?" page."""

import pytest
from django.urls import reverse

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.partners.models import Partner
from refnet.referrals.models import Patient, Referral, SourceStatus

URL = reverse("referrals:intake")


@pytest.fixture
def form_data(location, service_line):
    return {
        "patient_mode": "existing", "source_mode": "existing", "location": location.pk,
        "service_line": service_line.pk, "channel": "front_desk",
    }


def test_front_desk_sees_the_intake_page_with_their_location_preselected(login, location):
    response = login("front_desk").get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Who can we thank?" in body
    assert f'<option value="{location.pk}" selected>' in body


def test_outreach_may_not_record_referrals(login):
    assert login("outreach").get(URL).status_code == 403


def test_patient_search_finds_by_name_and_birth_date_and_is_audited(login, make_patient, users):
    import datetime

    ada = make_patient("Ada", "Lovelace", birth_date=datetime.date(1985, 12, 10))
    make_patient("Grace", "Hopper")
    client = login("front_desk")
    by_name = client.get(reverse("referrals:patient_search"), {"q": "lovelace ada"})
    assert "Lovelace, Ada" in by_name.content.decode()
    assert "Hopper" not in by_name.content.decode()
    by_birth = client.get(reverse("referrals:patient_search"), {"q": "12/10/1985"})
    assert "Lovelace, Ada" in by_birth.content.decode()
    audit = AuditEvent.objects.filter(patient_id=ada.pk, action=AuditAction.QUERY)
    assert audit.count() == 2
    assert audit.first().username == users["front_desk"].username
    assert audit.first().address == "127.0.0.1"


def test_source_search_tolerates_a_misspelling(login, make_partner):
    make_partner("John Smith, MD")
    body = login("front_desk").get(reverse("referrals:source_search"), {"q": "Jon Smyth"})
    text = body.content.decode()
    assert "John Smith, MD" in text
    assert "Add “Jon Smyth” as a new source" in text
    assert "Don&#x27;t know" in text or "Don't know" in text


def test_record_existing_patient_and_source_in_one_save(login, users, make_patient,
                                                        make_partner, form_data):
    patient, partner = make_patient(), make_partner()
    response = login("front_desk").post(URL, {
        **form_data, "patient": patient.pk, "source_partner": partner.pk, "reason": "Low back pain",
    })
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert (referral.patient, referral.source_partner) == (patient, partner)
    assert referral.created_by == users["front_desk"]
    assert referral.reason == "Low back pain"
    assert referral.events.get().to_status == "received"
    assert AuditEvent.objects.filter(patient_id=patient.pk, action=AuditAction.CREATE).exists()
    page = login("front_desk").get(URL)
    assert f"Saved: {patient} from {partner}" in page.content.decode()


def test_new_patient_and_new_source_are_created_with_the_referral(login, form_data):
    response = login("front_desk").post(URL, {
        **form_data, "patient_mode": "new", "new_first_name": "Bea", "new_last_name": "Arthur",
        "new_may_thank_referrer": "on", "source_mode": "new", "new_source_kind": "local_business",
        "new_source_category": "gym_trainer", "new_source_name": "Coach Dana at Iron Temple",
        "new_source_phone": "555-0100",
    })
    assert response.status_code == 302
    referral = Referral.objects.select_related("patient", "source_partner").get()
    assert referral.patient.last_name == "Arthur"
    assert referral.patient.may_thank_referrer and referral.patient.may_thank_referrer_at
    assert referral.source_partner.name == "Coach Dana at Iron Temple"
    assert referral.source_partner.category == "gym_trainer"
    # The new source is searchable at once.
    body = login("front_desk").get(reverse("referrals:source_search"), {"q": "coach dana"})
    assert "Coach Dana at Iron Temple" in body.content.decode()


def test_dont_know_saves_an_unresolved_referral_on_the_ask_again_list(login, make_patient,
                                                                      form_data):
    patient = make_patient("Cy", "Twombly")
    login("front_desk").post(URL, {
        **form_data, "patient": patient.pk, "source_mode": "unknown",
        "source_query": "the trainer at golds",
    })
    referral = Referral.objects.get()
    assert referral.source_status == SourceStatus.UNRESOLVED
    assert referral.source_partner is None
    assert referral.source_text == "the trainer at golds"
    page = login("front_desk").get(URL).content.decode()
    assert "Twombly" in page and "the trainer at golds" in page


def test_missing_source_is_refused_naming_the_field_and_keeping_what_was_typed(
    login, make_patient, form_data
):
    patient = make_patient()
    response = login("front_desk").post(URL, {
        **form_data, "patient": patient.pk, "source_query": "somebody at the gym",
        "reason": "Knee pain after running",
    })
    assert response.status_code == 422
    body = response.content.decode()
    assert "Choose who referred them from the list" in body
    assert 'value="somebody at the gym"' in body
    assert "Knee pain after running" in body
    assert Referral.objects.count() == 0


def test_invalid_new_patient_and_future_date_name_their_fields(login, form_data, make_partner):
    response = login("front_desk").post(URL, {
        **form_data, "patient_mode": "new", "new_first_name": "", "new_last_name": "Doe",
        "new_birth_date": "2999-01-01", "source_partner": make_partner().pk,
        "received_at": "2999-01-01T10:00",
    })
    assert response.status_code == 422
    body = response.content.decode()
    assert "Needed for a new patient." in body
    assert "The date of birth cannot be in the future." in body
    assert "The received time cannot be in the future." in body
    assert Patient.objects.count() == 0 and Referral.objects.count() == 0


def test_a_failed_save_leaves_no_half_written_patient_or_source(login, form_data, monkeypatch):
    """The new patient and source are written in the referral's transaction: if the referral
    itself is refused, neither remains."""
    from django.core.exceptions import ValidationError

    from refnet.referrals import services

    original = services.Referral.full_clean

    def refuse(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise ValidationError({"location": "This location stopped taking referrals."})

    monkeypatch.setattr(services.Referral, "full_clean", refuse)
    response = login("front_desk").post(URL, {
        **form_data, "patient_mode": "new", "new_first_name": "Bea", "new_last_name": "Arthur",
        "source_mode": "new", "new_source_kind": "patient_referrer", "new_source_name": "Al Pal",
    })
    assert response.status_code == 422
    assert "This location stopped taking referrals." in response.content.decode()
    assert (Patient.objects.count(), Partner.objects.count(), Referral.objects.count()) == (0, 0, 0)


def test_front_desk_gets_the_clinical_reason_box(login, users):
    # Outreach, which may not see clinical fields, cannot open intake at all (test above).
    assert "Reason for referral" in login("front_desk").get(URL).content.decode()


def test_a_refused_save_keeps_the_chosen_patient_and_source_on_the_page(
        login, make_patient, make_partner, form_data):
    import datetime

    patient = make_patient("Ada", "Lovelace", birth_date=datetime.date(1985, 12, 10))
    partner = make_partner("Parker Family Practice")
    response = login("front_desk").post(URL, {
        **form_data, "patient": patient.pk, "source_partner": partner.pk,
        "received_at": "2999-01-01T10:00",
    })
    assert response.status_code == 422
    body = response.content.decode()
    assert "<strong data-chosen-label>Ada Lovelace · born 12/10/1985</strong>" in body
    assert "<strong data-chosen-label>Parker Family Practice</strong>" in body
    assert "The received time cannot be in the future." in body
    # A source that does not validate (removed since it was picked) is still named.
    partner.removed_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    partner.save()
    again = login("front_desk").post(URL, {
        **form_data, "patient": patient.pk, "source_partner": partner.pk})
    assert again.status_code == 422
    assert "<strong data-chosen-label>Parker Family Practice</strong>" in again.content.decode()
