"""referral_receive: the shared path for referrals from FHIR, HL7 v2 and files."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from refnet.partners.models import Partner
from refnet.referrals.inbound import PatientIn, ProviderIn, referral_receive
from refnet.referrals.models import Patient, Referral, ReferralIdentifier

pytestmark = pytest.mark.django_db

NPI = "1234567893"  # valid check digit


def _receive(external_id="SR-1", requester=None, patient=None, **kw):
    return referral_receive(
        system="urn:ehr:test", external_id=external_id, channel="fhir",
        requester=requester or ProviderIn(npi=NPI, name="Dana Whitfield, MD", zip_code="80202"),
        patient=patient or PatientIn("Ana", "Reyes", date(1980, 5, 4),
                                     identifiers=[("urn:ehr:mrn", "A100")]),
        **kw,
    )


def test_a_repeat_delivery_returns_the_first_referral_and_writes_nothing(location):
    first = _receive()
    again = _receive()
    assert first.created and not again.created
    assert again.referral.pk == first.referral.pk
    assert Referral.objects.count() == 1 and Patient.objects.count() == 1
    assert Partner.objects.count() == 1
    assert first.provider_match == "created" and first.patient_match == "created"


def test_provider_is_found_by_npi_then_by_name_and_zip(location, make_partner):
    by_npi = make_partner(name="Whitfield Dana", kind="clinician", npi=NPI)
    assert _receive("SR-1").referral.source_partner == by_npi
    by_name = make_partner(name="Lee Park, DO", kind="clinician", zip_code="80203")
    got = _receive("SR-2", requester=ProviderIn(name="lee park do", zip_code="80203-1111"))
    assert got.referral.source_partner == by_name and got.provider_match == "name_address"


def test_patient_is_found_by_identifier_then_by_name_and_birth_date(location):
    first = _receive("SR-1").referral.patient
    second = _receive("SR-2", patient=PatientIn("Someone", "Else",
                                                identifiers=[("urn:ehr:mrn", "A100")]))
    assert second.referral.patient == first and second.patient_match == "identifier"
    third = _receive("SR-3", patient=PatientIn("ANA", "Reyes", date(1980, 5, 4)))
    assert third.referral.patient == first and third.patient_match == "name_birth_date"


def test_bad_input_writes_nothing(location):
    with pytest.raises(ValidationError) as error:
        _receive(priority="whenever")
    assert "priority" in error.value.message_dict
    with pytest.raises(ValidationError):
        _receive(requester=ProviderIn(npi="", name=""))
    assert Referral.objects.count() == 0 and Patient.objects.count() == 0
    assert ReferralIdentifier.objects.count() == 0
