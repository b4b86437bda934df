"""Hypothesis throws malformed input at every entry point: random JSON, valid
ServiceRequests with one element replaced by junk, random search parameters. The server
never answers 5xx and never leaves a partial write."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refnet.partners.models import Partner
from refnet.referrals.models import Patient, PatientIdentifier, Referral, ReferralIdentifier

from .conftest import golden

pytestmark = pytest.mark.django_db
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.sampled_from(["", "#pat", "Patient/1", "M54.5", "active",
                                              "ServiceRequest", "\x00", "9" * 30]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


BASE = golden("inbound_practitioner_role.json")
PATHS = [p for p in _paths(BASE) if p]


def _mutated(path, value, delete):
    body = copy.deepcopy(BASE)
    target = body
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


def counts():
    return (Referral.objects.count(), Patient.objects.count(), Partner.objects.count(),
            ReferralIdentifier.objects.count(), PatientIdentifier.objects.count())


def post_and_check(fhir, body):
    before = counts()
    response = fhir.post("/fhir/ServiceRequest", body)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"
        assert counts() == before
    else:
        assert response.json()["resourceType"] == "ServiceRequest"
        grew = counts()[0] - before[0]
        assert grew == (1 if response.status_code == 201 else 0)


@FUZZ
@given(body=junk)
def test_random_json_is_refused_cleanly(fhir, location, body):
    post_and_check(fhir, body)


@FUZZ
@given(body=st.binary(max_size=60))
def test_random_bytes_are_refused_cleanly(fhir, location, body):
    post_and_check(fhir, body)


@FUZZ
@given(path=st.sampled_from(PATHS), value=junk, delete=st.booleans(),
       ident=st.integers(min_value=0, max_value=10**6))
def test_a_valid_request_with_one_element_broken(fhir, location, path, value, delete, ident):
    body = _mutated(path, value, delete)
    if isinstance(body.get("identifier"), list) and body["identifier"] and isinstance(
            body["identifier"][0], dict):
        body["identifier"][0]["value"] = f"F-{ident}"  # usually a new referral
    post_and_check(fhir, body)


@FUZZ
@given(params=st.dictionaries(
    st.sampled_from(["patient", "status", "requester", "_lastUpdated", "_count", "_offset",
                     "focus", "identifier", "requester:identifier", "start", "end", "x"]),
    st.text(max_size=25) | st.sampled_from(["ge2026-01-01", "Patient/99999999999",
                                            "active", "9" * 25, "lt2026-02-30"]),
    max_size=3))
def test_random_search_parameters_never_fail_the_server(fhir, location, params):
    for path in ("/fhir/ServiceRequest", "/fhir/Task", "/fhir/ServiceRequest/$export"):
        response = fhir.get(path, **params)
        assert response.status_code in (200, 400, 422), (path, params, response.content)


@FUZZ
@given(resource_id=st.text(max_size=30))
def test_random_ids_are_404_not_errors(fhir, location, resource_id):
    for kind in ("ServiceRequest", "Task"):
        response = fhir.get(f"/fhir/{kind}/{json.dumps(resource_id)[1:-1]}")
        assert response.status_code in (200, 404), response.content
