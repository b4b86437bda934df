"""POST /hl7/: API key auth, content types, the ACK as the body, the audit trail."""

import pytest
from django.urls import reverse

from refnet.accounts.models import AuditEvent
from refnet.referrals.models import Referral

from .conftest import sample, with_field

HL7 = "x-application/hl7-v2+er7"


def post(client, body, key=None, content_type=HL7):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post(reverse("hl7:receive"), body, content_type=content_type, **headers)


def msa(response) -> list[str]:
    return response.content.decode().split("\r")[1].split("|")


def test_referral_posted_with_a_key_is_recorded_and_acknowledged(client, practice, keys):
    response = post(client, sample("2.5"), keys["engine"][1])
    assert response.status_code == 200
    assert response["Content-Type"].startswith(HL7)
    assert msa(response)[:3] == ["MSA", "AA", "NV-000451"]
    referral = Referral.objects.get()
    audit = AuditEvent.objects.get()
    assert audit.username == keys["engine"][0].audit_name
    assert (audit.patient_id, audit.action) == (referral.patient_id, "create")


def test_plain_text_with_lf_line_ends_is_accepted(client, practice, keys):
    response = post(client, sample("2.3").replace("\r", "\n"), keys["engine"][1],
                    content_type="text/plain")
    assert msa(response)[1] == "AA"


@pytest.mark.parametrize("key, status, words", [
    (None, 401, "An API key is required"),
    ("rn_bogus_key", 401, "An API key is required"),
    ("reader", 403, "may not send HL7"),  # read-only key
    ("outreach", 403, "may not send HL7"),  # a role without intake
    ("fhir", 403, "may not send HL7"),  # not scoped to hl7
])
def test_refused_keys_get_an_ar_ack_and_nothing_is_written(client, practice, keys, key,
                                                           status, words):
    raw = keys[key][1] if key in keys else key
    response = post(client, sample("2.5"), raw)
    assert response.status_code == status
    assert msa(response)[:2] == ["MSA", "AR"] and msa(response)[2] == "NV-000451"
    assert words in response.content.decode()
    assert Referral.objects.count() == 0


def test_wrong_content_type_is_415(client, practice, keys):
    response = post(client, '{"resourceType": "ServiceRequest"}', keys["engine"][1],
                    content_type="application/json")
    assert response.status_code == 415 and msa(response)[1] == "AR"


def test_get_is_405(client, db):
    assert client.get(reverse("hl7:receive")).status_code == 405


def test_too_large_is_413(client, practice, keys):
    body = sample("2.5") + "\rNTE|1||" + "x" * (1024 * 1024)
    response = post(client, body, keys["engine"][1])
    assert response.status_code == 413 and msa(response)[1] == "AR"
    assert Referral.objects.count() == 0


def test_content_error_is_200_with_ae(client, practice, keys):
    response = post(client, with_field(sample("2.5"), "PID", 7, "20260231"), keys["engine"][1])
    assert response.status_code == 200
    assert msa(response)[1:4] == ["AE", "NV-000451", "PID-7: '20260231' is not a valid date"]
