"""Golden files: each sample REF^I12 (versions 2.3, 2.4, 2.5, 2.5.1) -> the referral, patient,
provider and message-log fields it is recorded as (messages/*.hl7 -> golden/*.expected.json,
written by hand from the messages)."""

import json

import pytest

from refnet.hl7.models import HL7Message
from refnet.hl7.services import hl7_receive

from .conftest import GOLDEN, VERSIONS, sample

PATIENT_FIELDS = ["first_name", "last_name", "sex", "phone", "email", "address_line", "city",
                  "state", "zip_code"]
PROVIDER_FIELDS = ["name", "npi", "phone", "fax", "email", "address_line", "city", "state",
                   "zip_code", "stage"]
MESSAGE_FIELDS = ["sending_application", "sending_facility", "control_id", "version",
                  "message_type", "accept_ack", "application_ack", "ack_code", "external_id",
                  "external_namespace", "patient_identifiers"]


def recorded(referral, message) -> dict:
    patient, partner = referral.patient, referral.source_partner
    return {
        "referral": {
            "channel": referral.channel, "status": referral.status,
            "priority": referral.priority, "location": referral.location.name,
            "service_line": referral.service_line.name if referral.service_line else None,
            "reason": referral.reason, "diagnosis": referral.diagnosis,
            "source_status": referral.source_status,
            "identifiers": [list(p) for p in referral.identifiers.values_list("system", "value")],
        },
        "patient": {**{f: getattr(patient, f) for f in PATIENT_FIELDS},
                    "birth_date": patient.birth_date.isoformat(),
                    "identifiers": [list(p) for p in patient.identifiers.order_by("id")
                                    .values_list("system", "value")]},
        "provider": {"kind": partner.kind, **{f: getattr(partner, f) for f in PROVIDER_FIELDS}},
        "message": {f: getattr(message, f) for f in MESSAGE_FIELDS},
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_sample_message_is_recorded_as_the_golden_fields(practice, version):
    handled = hl7_receive(sample(version), channel="http", actor="api-key:test")
    assert handled.code == "AA", handled.ack
    assert handled.created
    expected = json.loads((GOLDEN / f"ref_i12_v{version}.expected.json").read_text())
    message = HL7Message.objects.get()
    assert recorded(handled.referral, message) == expected
    # The ACK names the message it answers, in the sender's version.
    msh, msa = handled.ack.split("\r")[:2]
    assert msh.split("|")[11] == version
    assert msa == f"MSA|AA|{expected['message']['control_id']}"


def test_each_version_sets_the_ack_message_type_its_way(practice):
    acks = {v: hl7_receive(sample(v), channel="http", actor="t").ack for v in VERSIONS}
    assert {v: a.split("|")[8] for v, a in acks.items()} == {
        "2.3": "ACK^I12", "2.4": "ACK^I12^ACK", "2.5": "ACK^I12^ACK", "2.5.1": "ACK^I12^ACK"}
