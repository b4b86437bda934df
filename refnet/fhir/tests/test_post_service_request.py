"""POST /fhir/ServiceRequest: an incoming referral is recorded once, matched to the
requester and the patient we know, or refused with an OperationOutcome that names the
element, writing nothing."""

from datetime import date

import pytest

from refnet.accounts.models import AuditEvent
from refnet.fhir.mapping import PATIENT_SYSTEM
from refnet.partners.models import Partner
from refnet.referrals.models import Patient, PatientIdentifier, Referral, ReferralIdentifier

from .conftest import NPI, ORG_NPI

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(location, other_location, service_line):
    return {"main": location, "west": other_location, "pt": service_line}


def counts():
    return (Referral.objects.count(), Patient.objects.count(), Partner.objects.count(),
            ReferralIdentifier.objects.count(), PatientIdentifier.objects.count())


def test_a_referral_is_created_with_its_patient_requester_and_codes(fhir, practice,
                                                                    service_request):
    response = fhir.post("/fhir/ServiceRequest", service_request)
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    referral = Referral.objects.get()
    assert response["Location"] == f"http://testserver/fhir/ServiceRequest/{referral.pk}"
    assert response.json()["id"] == str(referral.pk)
    assert referral.channel == "fhir" and referral.status == "received"
    assert referral.priority == "urgent"  # asap
    assert referral.diagnosis == "M54.50, G89.29"
    assert referral.reason == "Evaluate and treat. 6 weeks.\n\nPatient prefers mornings."
    assert referral.service_line == practice["pt"]
    assert referral.location == practice["west"]  # matched by name, any case
    assert referral.received_at.isoformat() == "2026-01-15T21:30:00+00:00"
    patient = referral.patient
    assert (patient.first_name, patient.last_name, patient.birth_date, patient.sex) == (
        "Ana Luisa", "Reyes", date(1980, 5, 4), "F")
    assert patient.zip_code == "80202"
    partner = referral.source_partner
    assert (partner.name, partner.npi, partner.kind, partner.taxonomy_code) == (
        "Dana Whitfield, MD", NPI, "clinician", "207Q00000X")
    assert partner.zip_code == "80206"  # the organization's address stands in
    assert list(referral.identifiers.values_list("system", "value")) == [
        ("urn:oid:2.16.840.1.113883.3.9999.2", "REF-2026-0001")]
    event = AuditEvent.objects.get()
    assert (event.patient_id, event.action, event.user) == (patient.pk, "create", None)
    assert event.username.startswith("api-key:") and event.username.endswith("writer EHR")


def test_a_repeat_post_returns_the_same_referral_and_writes_nothing(fhir, practice,
                                                                    service_request):
    first = fhir.post("/fhir/ServiceRequest", service_request)
    before = counts()
    again = fhir.post("/fhir/ServiceRequest", service_request)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    assert counts() == before == (1, 1, 1, 1, 1)


def test_if_none_exist_on_identifier_returns_the_existing_referral(fhir, practice,
                                                                   service_request):
    first = fhir.post("/fhir/ServiceRequest", service_request).json()
    service_request["identifier"] = [{"system": "urn:other", "value": "NEW-1"}]
    header = "identifier=urn:oid:2.16.840.1.113883.3.9999.2|REF-2026-0001"
    again = fhir.post("/fhir/ServiceRequest", service_request, HTTP_IF_NONE_EXIST=header)
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert Referral.objects.count() == 1
    # No match: created as usual.
    fresh = fhir.post("/fhir/ServiceRequest", service_request,
                      HTTP_IF_NONE_EXIST="identifier=urn:other|NEW-1")
    assert fresh.status_code == 201 and Referral.objects.count() == 2
    refused = fhir.post("/fhir/ServiceRequest", service_request,
                        HTTP_IF_NONE_EXIST="patient=Patient/1")
    assert refused.status_code == 400
    assert "identifier" in refused.json()["issue"][0]["diagnostics"]


def test_a_second_identifier_of_the_sender_also_finds_the_referral(fhir, practice):
    from .conftest import golden

    body = golden("inbound_practitioner_by_name.json")
    first = fhir.post("/fhir/ServiceRequest", body)
    assert first.status_code == 201, first.content
    body["identifier"] = [{"system": "https://hie.example.org/id", "value": "HIE-5"}]
    again = fhir.post("/fhir/ServiceRequest", body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    referral = Referral.objects.get()
    assert referral.reason == "Service requested: Aquatic therapy"  # no such service line
    assert referral.service_line is None
    assert referral.location.name == "Main Street Clinic"  # none named: the first one
    assert sorted(referral.identifiers.values_list("value", flat=True)) == ["A-77", "HIE-5"]


def test_requester_found_by_npi_by_name_and_address_or_created(fhir, practice,
                                                               service_request, make_partner):
    known = make_partner(name="Whitfield Dana", npi=NPI)
    response = fhir.post("/fhir/ServiceRequest", service_request)
    assert Referral.objects.get(pk=response.json()["id"]).source_partner == known

    from .conftest import golden

    by_name = golden("inbound_practitioner_by_name.json")
    park = make_partner(name="Lee Park, DO", address_line="55 Main St", zip_code="80010")
    response = fhir.post("/fhir/ServiceRequest", by_name)
    assert Referral.objects.get(pk=response.json()["id"]).source_partner == park

    by_name["identifier"] = [{"system": "urn:x", "value": "3"}]
    by_name["contained"][1]["name"] = [{"text": "Kim Novak, PA"}]
    response = fhir.post("/fhir/ServiceRequest", by_name)
    created = Referral.objects.get(pk=response.json()["id"]).source_partner
    assert created.name == "Kim Novak, PA" and created.stage == "active"
    assert Partner.objects.count() == 3


def test_patient_found_by_identifier_then_by_name_and_birth_date(fhir, practice,
                                                                 service_request, make_patient):
    first = Referral.objects.get(pk=fhir.post("/fhir/ServiceRequest",
                                              service_request).json()["id"]).patient
    service_request["identifier"][0]["value"] = "REF-2"
    service_request["contained"][0]["name"] = [{"family": "Renamed", "given": ["X"]}]
    second = fhir.post("/fhir/ServiceRequest", service_request).json()["id"]
    assert Referral.objects.get(pk=second).patient == first  # by the EHR's MRN

    omar = make_patient(first_name="Omar", last_name="Haddad", birth_date=date(1975, 11, 30))
    from .conftest import golden

    third = fhir.post("/fhir/ServiceRequest", golden("inbound_practitioner_by_name.json"))
    assert Referral.objects.get(pk=third.json()["id"]).patient == omar
    assert Patient.objects.count() == 2


def test_subject_may_reference_a_patient_known_here(fhir, practice, make_patient):
    from .conftest import golden

    ada = make_patient(first_name="Ada", last_name="Known")
    body = golden("inbound_logical_requester.json")
    body["subject"] = {"reference": f"Patient/{ada.pk}"}
    body["code"]["coding"][0]["code"] = str(practice["pt"].pk)
    body["locationReference"][0]["identifier"]["value"] = str(practice["main"].pk)
    response = fhir.post("/fhir/ServiceRequest", body)
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert referral.patient == ada and Patient.objects.count() == 1
    assert referral.service_line == practice["pt"] and referral.location == practice["main"]
    assert referral.source_partner.npi == "1497758544"
    assert PatientIdentifier.objects.get().system == PATIENT_SYSTEM

    body["identifier"][0]["value"] = "B-2"
    body["subject"] = {"reference": "Patient/999999"}
    before = counts()
    response = fhir.post("/fhir/ServiceRequest", body)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["ServiceRequest.subject"]
    assert counts() == before


def test_an_organization_requester_is_a_practice(fhir, practice, service_request):
    service_request["requester"] = {"reference": "#clinic"}
    fhir.post("/fhir/ServiceRequest", service_request)
    partner = Referral.objects.get().source_partner
    assert (partner.name, partner.kind, partner.npi) == (
        "Cherry Creek Family Medicine", "medical_practice", ORG_NPI)


def test_no_requester_records_an_unknown_source_to_ask_again(fhir, practice, service_request):
    del service_request["requester"]
    assert fhir.post("/fhir/ServiceRequest", service_request).status_code == 201
    referral = Referral.objects.get()
    assert referral.source_partner is None and referral.source_status == "unresolved"
