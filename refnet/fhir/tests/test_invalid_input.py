"""Bad ServiceRequests are refused with an OperationOutcome naming what is wrong and
where; nothing is written."""

import pytest

from refnet.partners.models import Partner
from refnet.referrals.models import Patient, PatientIdentifier, Referral, ReferralIdentifier

pytestmark = pytest.mark.django_db


def counts():
    return (Referral.objects.count(), Patient.objects.count(), Partner.objects.count(),
            ReferralIdentifier.objects.count(), PatientIdentifier.objects.count())


def refused(fhir, body, status, **headers):
    before = counts()
    response = fhir.post("/fhir/ServiceRequest", body, **headers)
    assert response.status_code == status, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert counts() == before
    return [(i.get("expression", [""])[0], i["code"], i["diagnostics"])
            for i in outcome["issue"]]


def test_an_icd10_code_that_is_not_one_names_its_coding(fhir, location, service_request):
    service_request["reasonCode"][0]["coding"][0]["code"] = "back pain"
    issues = refused(fhir, service_request, 422)
    assert issues[0][:2] == ("ServiceRequest.reasonCode[0].coding[0].code", "code-invalid")
    assert "ICD-10-CM" in issues[0][2]


def test_every_bad_code_is_listed_at_once(fhir, location, service_request):
    service_request["priority"] = "whenever"
    service_request["contained"][0]["gender"] = "f"
    service_request["contained"][1]["identifier"][0]["value"] = "1234567890"  # bad check
    service_request["contained"][0]["telecom"][0]["system"] = "telephone"
    issues = refused(fhir, service_request, 422)
    assert [where for where, _, _ in issues] == [
        "ServiceRequest.priority",
        "ServiceRequest.contained[0].gender",
        "ServiceRequest.contained[0].telecom[0].system",
        "ServiceRequest.contained[1].identifier[0].value",
    ]
    assert "check digit" in issues[3][2]


def test_structural_errors_from_the_model_name_their_path(fhir, location, service_request):
    service_request["contained"][0]["birthDate"] = "1980-02-30"
    service_request["subject"] = {"reference": 5}
    service_request["favouriteColour"] = "blue"
    issues = refused(fhir, service_request, 400)
    paths = sorted(where for where, _, _ in issues)
    assert paths == ["ServiceRequest.contained[0].birthDate", "ServiceRequest.favouriteColour",
                     "ServiceRequest.subject.reference"]


@pytest.mark.parametrize("body,where,words", [
    ("{not json", "", "not valid JSON"),
    ('{"resourceType": "Patient"}', "ServiceRequest.resourceType", "Patient"),
    ("[1, 2]", "", "JSON object"),
    ('{"resourceType": "ServiceRequest", "status": NaN}', "", "NaN"),
    ('{"resourceType": "ServiceRequest", "contained": [{"resourceType": "Blah"}]}',
     "ServiceRequest.contained[0].resourceType", "Blah"),
    ('{"resourceType": "ServiceRequest", "note": [{"text": "a\\u0000b"}]}',
     "ServiceRequest.note[0].text", "NUL"),
])
def test_malformed_bodies_are_400(fhir, location, body, where, words):
    issues = refused(fhir, body, 400)
    assert issues[0][0] == where and words in issues[0][2]


def test_the_sender_identifier_is_required(fhir, location, service_request):
    del service_request["identifier"]
    issues = refused(fhir, service_request, 422)
    assert issues == [("ServiceRequest.identifier", "required", issues[0][2])]


def test_a_referral_that_is_not_active_is_refused(fhir, location, service_request):
    service_request["status"] = "completed"
    assert refused(fhir, service_request, 422)[0][:2] == ("ServiceRequest.status",
                                                          "business-rule")


def test_references_must_point_at_contained_resources(fhir, location, service_request):
    service_request["requester"] = {"reference": "Practitioner/77"}
    service_request["subject"] = {"reference": "#nobody"}
    issues = refused(fhir, service_request, 422)
    assert [where for where, _, _ in issues] == ["ServiceRequest.subject.reference",
                                                 "ServiceRequest.requester.reference"]


def test_a_patient_without_a_name_is_refused_by_the_inbound_path(fhir, location,
                                                                 service_request):
    service_request["contained"][0]["name"] = []
    issues = refused(fhir, service_request, 422)
    assert issues[0][0] == "ServiceRequest.subject" and "name" in issues[0][2]


def test_wrong_content_type_and_method(fhir, location, service_request):
    response = fhir.post("/fhir/ServiceRequest", "x=1", content_type="text/plain")
    assert response.status_code == 415
    response = fhir.get("/fhir/ServiceRequest/1", key="writer")
    assert response.status_code == 404  # no such referral; GET is allowed
    from django.test import Client

    put = Client().put("/fhir/metadata")
    assert put.status_code == 405 and put.json()["resourceType"] == "OperationOutcome"


def test_json_content_type_is_accepted_too(fhir, location, service_request):
    response = fhir.post("/fhir/ServiceRequest", service_request,
                         content_type="application/json")
    assert response.status_code == 201
