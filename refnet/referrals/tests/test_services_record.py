"""referrals.services.referral_record: one referral with its patient and source, all or
nothing."""

import pytest
from django.core.exceptions import ValidationError

from refnet.partners.models import Partner, SearchEntry
from refnet.partners.search import partners_search
from refnet.partners.services import partner_merge
from refnet.referrals.models import Patient, Referral
from refnet.referrals.selectors import referrals_unresolved_source
from refnet.referrals.services import referral_record

NEW_PATIENT = {"first_name": "Nell", "last_name": "Newcomer", "phone": "(217) 555-0199"}
NEW_SOURCE = {"kind": "local_business", "name": "Peak Fitness"}


def test_new_patient_and_new_source_saved_with_the_referral(location, users):
    referral = referral_record(new_patient=NEW_PATIENT, new_source=NEW_SOURCE,
                               location=location, by=users["front_desk"])

    assert str(referral.patient) == "Nell Newcomer"
    assert referral.source_partner.name == "Peak Fitness"
    assert (referral.status, referral.source_status, referral.created_by) == (
        "received", "known", users["front_desk"])
    event = referral.events.get()
    assert (event.to_status, event.by) == ("received", users["front_desk"])
    # The new source can be found at the desk straight away.
    assert [m.partner_id for m in partners_search("peak fitness")] == [referral.source_partner_id]


def test_a_referral_that_fails_validation_leaves_no_new_patient_or_source(location, users):
    counts = (Patient.objects.count(), Partner.objects.count(), SearchEntry.objects.count())

    with pytest.raises(ValidationError) as refused:
        referral_record(new_patient=NEW_PATIENT, new_source=NEW_SOURCE, location=location,
                        priority="whenever", by=users["front_desk"])

    assert "priority" in refused.value.message_dict
    assert (Patient.objects.count(), Partner.objects.count(), SearchEntry.objects.count()) \
        == counts
    assert not Referral.objects.exists()
    assert partners_search("peak fitness") == []


def test_an_invalid_new_source_leaves_no_new_patient(location, users):
    with pytest.raises(ValidationError):
        referral_record(new_patient=NEW_PATIENT,
                        new_source={"kind": "local_business", "name": "Gym", "npi": "123"},
                        location=location, by=users["front_desk"])

    assert not Patient.objects.filter(last_name="Newcomer").exists()


@pytest.mark.parametrize("source", [{}, {"source_unknown": True, "new_source": NEW_SOURCE}])
def test_exactly_one_way_to_name_the_source(location, make_patient, source):
    with pytest.raises(ValidationError) as refused:
        referral_record(patient=make_patient(), location=location, by=None, **source)

    assert "source" in refused.value.message_dict


def test_a_patient_is_required_once(location, make_patient, make_partner):
    with pytest.raises(ValidationError) as refused:
        referral_record(patient=make_patient(), new_patient=NEW_PATIENT,
                        source_partner=make_partner(), location=location, by=None)

    assert "patient" in refused.value.message_dict


def test_a_contact_must_work_at_the_source(location, make_patient, make_partner, make_contact):
    stranger = make_contact(make_partner("Peak Fitness", kind="local_business"), "Sam Lee")

    with pytest.raises(ValidationError):
        referral_record(patient=make_patient(), source_partner=make_partner("John Smith, MD"),
                        source_contact=stranger, location=location, by=None)

    assert not Referral.objects.exists()


def test_a_merged_source_is_credited_to_the_survivor(location, make_patient, make_partner):
    survivor, duplicate = make_partner("John Smith, MD"), make_partner("Jon Smith")
    partner_merge(survivor=survivor, duplicate=duplicate, by=None)
    duplicate.refresh_from_db()

    referral = referral_record(patient=make_patient(), source_partner=duplicate,
                               location=location, by=None)

    assert referral.source_partner == survivor


def test_an_unknown_source_goes_on_the_ask_again_list(location, make_patient):
    referral = referral_record(patient=make_patient(), source_unknown=True,
                               source_text="  my neighbour  ", location=location, by=None)

    assert (referral.source_status, referral.source_partner, referral.source_text) == (
        "unresolved", None, "my neighbour")
    assert list(referrals_unresolved_source()) == [referral]
    assert "ask again" in referral.events.get().note
