"""A referral removed as entered by mistake: read by id it is a ServiceRequest (and Task)
with status entered-in-error; searches and exports leave it out unless they ask for
entered-in-error; a repeat of the ServiceRequest that made it answers with it rather than
recording it again."""

from datetime import UTC, datetime

import pytest

from refnet.referrals.models import Referral
from refnet.referrals.services import referral_remove, referral_restore

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [int(e["resource"]["id"].removeprefix("referral-"))
            for e in response.json().get("entry", [])]


@pytest.fixture
def pair(make_referral, users):
    at = datetime(2026, 1, 5, 12, tzinfo=UTC)
    kept, mistake = make_referral(received_at=at), make_referral(received_at=at)
    referral_remove(referral=mistake, by=users["manager"], reason="Duplicate")
    return kept, mistake


def test_read_by_id_is_entered_in_error(fhir, pair, users):
    _kept, mistake = pair
    response = fhir.get(f"/fhir/ServiceRequest/{mistake.pk}")
    assert response.status_code == 200
    assert response.json()["status"] == "entered-in-error"
    task = fhir.get(f"/fhir/Task/referral-{mistake.pk}").json()
    assert task["status"] == "entered-in-error"
    referral_restore(referral=mistake, by=users["manager"])
    assert fhir.get(f"/fhir/ServiceRequest/{mistake.pk}").json()["status"] == "active"


def test_searches_leave_it_out_unless_asked_for(fhir, pair):
    kept, mistake = pair
    assert ids(fhir.get("/fhir/ServiceRequest")) == [kept.pk]
    assert ids(fhir.get("/fhir/ServiceRequest", status="active")) == [kept.pk]
    assert ids(fhir.get("/fhir/ServiceRequest", status="entered-in-error")) == [mistake.pk]
    assert sorted(ids(fhir.get("/fhir/ServiceRequest", status="active,entered-in-error"))) \
        == sorted([kept.pk, mistake.pk])
    assert ids(fhir.get("/fhir/Task")) == [kept.pk]
    assert ids(fhir.get("/fhir/Task", status="entered-in-error")) == [mistake.pk]
    assert ids(fhir.get("/fhir/Task", status="requested")) == [kept.pk]


def test_the_export_leaves_it_out(fhir, pair):
    kept, mistake = pair
    bundle = fhir.get("/fhir/ServiceRequest/$export", start="2026-01-01",
                      end="2026-01-31").json()
    requests = [e["resource"]["id"] for e in bundle["entry"]
                if e["resource"]["resourceType"] == "ServiceRequest"]
    assert requests == [str(kept.pk)]


def test_a_repeat_of_a_removed_referral_is_not_recorded_again(
        fhir, location, other_location, service_line, service_request, users):
    first = fhir.post("/fhir/ServiceRequest", service_request)
    assert first.status_code == 201, first.content
    referral_remove(referral=Referral.objects.get(pk=first.json()["id"]),
                    by=users["manager"], reason="Test message from the EHR")
    again = fhir.post("/fhir/ServiceRequest", service_request)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "entered-in-error"
    assert Referral.all_objects.count() == 1
