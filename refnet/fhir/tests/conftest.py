"""Fixtures for the FHIR tests: API keys per scope, a client that sends them, and a
valid incoming ServiceRequest to start from."""

import copy
import json
from pathlib import Path

import pytest

from refnet.api.keys import api_key_create

GOLDEN = Path(__file__).parent / "golden"
NPI = "1234567893"  # valid check digit
ORG_NPI = "1245319599"


def golden(name: str):
    return json.loads((GOLDEN / name).read_text())


@pytest.fixture
def keys(db):
    """Raw API keys: writer (coordinator, read+write), reader (front desk, read only),
    outreach (read, a role without referrals), other (coordinator, not scoped to fhir)."""
    made = {}
    for name, role, resources, write in [
        ("writer", "coordinator", ["fhir"], True), ("reader", "front_desk", ["fhir"], False),
        ("outreach", "outreach", ["fhir"], False), ("other", "coordinator", ["partners"], True),
    ]:
        made[name] = api_key_create(name=f"{name} EHR", role=role, resources=resources,
                                    can_read=True, can_write=write, by=None)
    return made


@pytest.fixture
def fhir(client, keys):
    """fhir.get(path, key="reader", **params) / fhir.post(path, body, key="writer",
    **headers): the test client with an API key header."""

    class Fhir:
        def get(self, path, key="reader", **params):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {keys[key][1]}"} if key else {}
            return client.get(path, params, **headers)

        def post(self, path, body, key="writer", content_type="application/fhir+json",
                 **headers):
            if key:
                headers["HTTP_AUTHORIZATION"] = f"Bearer {keys[key][1]}"
            data = body if isinstance(body, (str, bytes)) else json.dumps(body)
            return client.post(path, data, content_type=content_type, **headers)

    return Fhir()


@pytest.fixture
def service_request():
    """A fresh copy of the golden incoming ServiceRequest (contained Patient and a
    PractitionerRole at a practice)."""
    return copy.deepcopy(golden("inbound_practitioner_role.json"))
