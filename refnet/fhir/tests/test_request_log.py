"""Every request to /fhir/ is logged (Integrations > FHIR requests) with its HTTP status and
OperationOutcome codes; opening a logged POST shows its body and is audited."""

import json

from django.urls import reverse

from refnet.accounts.models import AuditEvent
from refnet.fhir.models import FhirRequest


def test_fhir_requests_are_logged_with_their_outcome_and_the_body_view_is_audited(
        login, fhir, service_request, users, db, location):
    created = fhir.post("/fhir/ServiceRequest", service_request)
    assert created.status_code == 201
    refused = fhir.post("/fhir/ServiceRequest", {"resourceType": "ServiceRequest"})
    assert refused.status_code in (400, 422)
    fhir.get("/fhir/ServiceRequest", key=None)  # no key: 401
    rows = list(FhirRequest.objects.order_by("id"))
    assert [r.status for r in rows] == [201, refused.status_code, 401]
    assert rows[0].referral_id is not None and rows[0].outcome == ""
    assert rows[1].outcome and rows[1].message and rows[1].referral_id is None
    assert json.loads(rows[0].body)["resourceType"] == "ServiceRequest"

    client = login("admin")
    page = client.get(reverse("integrations:log"), {"kind": "fhir", "outcome": "refused"})
    text = page.content.decode()
    assert f"FHIR request #{rows[1].pk}," in text and f"FHIR request #{rows[0].pk}," not in text
    detail = client.get(reverse("integrations:fhir_request", args=[rows[0].pk])).content
    assert b"ServiceRequest" in detail
    audit = AuditEvent.objects.get(user=users["admin"])
    assert audit.patient_id == rows[0].referral.patient_id and audit.action == "view"
