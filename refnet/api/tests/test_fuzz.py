"""Schemathesis throws generated input, valid and malformed, at every operation of the API
in-process (the WSGI app), with an admin key that may read and write everything.

Nothing may answer 5xx, every response must be JSON, and a write that failed must leave
nothing behind: the partner, contact, patient and referral counts only grow by the number
of successful creates.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from refnet.partners.models import Contact, Partner
from refnet.referrals.models import Patient, Referral

EXAMPLES_PER_OPERATION = 20  # per mode; the whole run stays under a minute


def _counts() -> dict[str, int]:
    return {"partners": Partner.objects.count(), "contacts": Contact.objects.count(),
            "patients": Patient.objects.count(), "referrals": Referral.objects.count()}


# What a successful (2xx) operation may add, by (method, path).
ADDS = {
    ("POST", "/api/partners"): {"partners": 1},
    ("POST", "/api/partners/{partner_id}/contacts"): {"contacts": 1},
    # a new patient and a new source may come with the referral
    ("POST", "/api/referrals"): {"referrals": 1, "patients": 1},
}


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes the database connection after each request, which would
    close the test's transaction; Django's own test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_test_connection")
def test_no_server_error_and_no_half_written_record(make_key, make_referral, make_partner,
                                                    make_contact):
    raw = make_key("admin", write=True)
    partner = make_partner(name="Dana Whitfield, MD")
    make_contact(partner)
    make_referral(source_partner=partner)  # real rows for generated ids to hit
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    headers = {"Authorization": f"Bearer {raw}"}
    problems: list[str] = []
    succeeded: set[str] = set()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, headers, problems, succeeded)
    assert problems == []
    # The generated input got past validation, not only into the error handlers.
    assert {"GET /api/partners", "POST /api/partners", "GET /api/referrals",
            "GET /api/reports"} <= succeeded


def _fuzz(operation, mode, headers, problems: list[str], succeeded: set[str]) -> None:
    name = f"{operation.method.upper()} {operation.path}"
    allowed_growth = ADDS.get((operation.method.upper(), operation.path), {})

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        before = _counts()
        response = case.call(headers=headers)
        after = _counts()
        label = f"{case.method} {case.formatted_path} ({mode})"
        if response.status_code >= 500:
            problems.append(f"{label} -> {response.status_code}: {response.text[:300]}")
            return
        try:
            json.loads(response.text)
        except ValueError:
            problems.append(f"{label} -> not JSON: {response.text[:100]}")
        if response.status_code < 300:
            succeeded.add(name)
        grown = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        allowed = allowed_growth if response.status_code < 300 else {}
        if any(n > allowed.get(k, 0) or n < 0 for k, n in grown.items()):
            problems.append(f"{label} -> {response.status_code} changed {grown}")

    run()
