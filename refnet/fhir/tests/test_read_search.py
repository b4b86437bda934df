"""Reading and searching: ServiceRequest by id and by patient, status, requester and
_lastUpdated (paged Bundles), Task by id and focus, the period export, and who may."""

from datetime import UTC, datetime

import pytest

from refnet.accounts.models import AuditEvent
from refnet.referrals.models import Referral
from refnet.referrals.services import referral_transition

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


@pytest.fixture
def data(make_referral, make_partner, make_patient, users):
    """Three referrals: r1 (Ana, Dr A, received Jan 5, still received), r2 (Ana, Dr B,
    Jan 10, closed won), r3 (Ben, Dr A, Jan 20, closed lost: no show)."""
    doc_a = make_partner(name="Dr A", npi="1234567893")
    doc_b = make_partner(name="Dr B")
    ana, ben = make_patient(first_name="Ana"), make_patient(first_name="Ben")
    r1 = make_referral(patient=ana, source_partner=doc_a, received_at=at(5))
    r2 = make_referral(patient=ana, source_partner=doc_b, received_at=at(10))
    r3 = make_referral(patient=ben, source_partner=doc_a, received_at=at(20))
    by = users["coordinator"]
    for step in ("scheduled", "seen", "closed_won"):
        r2 = referral_transition(referral=r2, to_status=step, by=by)
    r3 = referral_transition(referral=r3, to_status="closed_lost", outcome="no_show", by=by)
    Referral.objects.filter(pk=r1.pk).update(status_changed_at=at(5))
    Referral.objects.filter(pk=r2.pk).update(status_changed_at=at(12))
    Referral.objects.filter(pk=r3.pk).update(status_changed_at=at(21))
    return {"r1": r1, "r2": r2, "r3": r3, "ana": ana, "ben": ben, "a": doc_a, "b": doc_b}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return [int(e["resource"]["id"]) for e in bundle["entry"]]


def test_read_a_service_request_and_audit_it(fhir, data):
    response = fhir.get(f"/fhir/ServiceRequest/{data['r1'].pk}")
    assert response.status_code == 200
    assert response.json()["subject"] == {"reference": "#patient"}
    event = AuditEvent.objects.get()
    assert (event.patient_id, event.action, event.what) == (
        data["ana"].pk, "view", f"fhir:ServiceRequest/{data['r1'].pk}")
    assert fhir.get("/fhir/ServiceRequest/999999").status_code == 404
    assert fhir.get("/fhir/ServiceRequest/99999999999999999999").status_code == 404


def test_search_by_patient_status_requester_and_last_updated(fhir, data):
    r1, r2, r3 = data["r1"].pk, data["r2"].pk, data["r3"].pk
    url = "/fhir/ServiceRequest"
    assert ids(fhir.get(url)) == [r3, r2, r1]  # newest first
    assert ids(fhir.get(url, patient=f"Patient/{data['ana'].pk}")) == [r2, r1]
    assert ids(fhir.get(url, status="active")) == [r1]
    assert ids(fhir.get(url, status="completed,revoked")) == [r3, r2]
    assert ids(fhir.get(url, requester=f"Practitioner/{data['a'].pk}")) == [r3, r1]
    assert ids(fhir.get(url, **{"requester:identifier":
                                "http://hl7.org/fhir/sid/us-npi|1234567893"})) == [r3, r1]
    assert ids(fhir.get(url, _lastUpdated="ge2026-01-12")) == [r3, r2]
    assert ids(fhir.get(url, _lastUpdated=["gt2026-01-05", "lt2026-01-21"])) == [r2]
    assert ids(fhir.get(url, _lastUpdated="2026-01-21")) == [r3]
    assert ids(fhir.get(url, patient=f"Patient/{data['ana'].pk}", status="active")) == [r1]
    query = AuditEvent.objects.filter(action="query").order_by("id").first()
    assert query.what == "fhir:ServiceRequest search"


def test_search_pages_with_total_and_next_link(fhir, data):
    response = fhir.get("/fhir/ServiceRequest", _count="2")
    bundle = response.json()
    assert bundle["total"] == 3 and len(bundle["entry"]) == 2
    next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    assert "_offset=2" in next_url and "_count=2" in next_url
    second = fhir.get("/fhir/ServiceRequest", _count="2", _offset="2").json()
    assert [e["resource"]["id"] for e in second["entry"]] == [str(data["r1"].pk)]
    assert all(link["relation"] != "next" for link in second["link"])


@pytest.mark.parametrize("params,words", [
    ({"status": "open"}, "status"),
    ({"patient": "Group/1"}, "patient"),
    ({"_lastUpdated": "ge2026-13-01"}, "_lastUpdated"),
    ({"_lastUpdated": "ge2026-01-01T10:00:00"}, "time zone"),
    ({"_count": "-1"}, "_count"),
    ({"name": "Ana"}, "name"),
])
def test_bad_search_parameters_are_400_naming_the_parameter(fhir, data, params, words):
    response = fhir.get("/fhir/ServiceRequest", **params)
    assert response.status_code == 400
    assert words in response.json()["issue"][0]["diagnostics"]


def test_task_read_and_search_by_focus_and_status(fhir, data):
    r3 = data["r3"].pk
    task = fhir.get(f"/fhir/Task/referral-{r3}").json()
    assert task["status"] == "failed" and task["focus"]["reference"] == f"ServiceRequest/{r3}"
    assert task["businessStatus"]["coding"][0]["code"] == "5.1.2"
    found = fhir.get("/fhir/Task", focus=f"ServiceRequest/{r3}").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [f"referral-{r3}"]
    assert found["entry"][0]["fullUrl"] == f"http://testserver/fhir/Task/referral-{r3}"
    done = fhir.get("/fhir/Task", status="completed").json()
    assert [e["resource"]["id"] for e in done["entry"]] == [f"referral-{data['r2'].pk}"]
    assert fhir.get("/fhir/Task", status="rejected").json()["total"] == 0
    assert fhir.get("/fhir/Task/123").status_code == 404


def test_export_a_period_as_a_collection_bundle(fhir, data):
    response = fhir.get("/fhir/ServiceRequest/$export", start="2026-01-01", end="2026-01-10")
    bundle = response.json()
    assert response.status_code == 200 and bundle["type"] == "collection"
    kinds = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    r1, r2 = data["r1"].pk, data["r2"].pk
    assert kinds == [
        ("ServiceRequest", str(r1)), ("Task", f"referral-{r1}"),
        ("Patient", str(data["ana"].pk)), ("Practitioner", str(data["a"].pk)),
        ("ServiceRequest", str(r2)), ("Task", f"referral-{r2}"),
        ("Practitioner", str(data["b"].pk)),  # Ana once
    ]
    sr = bundle["entry"][0]["resource"]
    assert sr["subject"] == {"reference": f"Patient/{data['ana'].pk}"}
    assert sr["requester"]["reference"] == f"Practitioner/{data['a'].pk}"
    assert "contained" not in sr
    exported = AuditEvent.objects.filter(action="export")
    assert sorted(exported.values_list("patient_id", flat=True)) == [data["ana"].pk]
    assert fhir.get("/fhir/ServiceRequest/$export", start="2026-01-05").status_code == 400
    too_long = fhir.get("/fhir/ServiceRequest/$export", start="2024-01-01", end="2026-01-01")
    assert too_long.status_code == 422


def test_metadata_is_public_and_lists_what_is_supported(client, db):
    response = client.get("/fhir/metadata")
    statement = response.json()
    assert response.status_code == 200 and statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {"ServiceRequest", "Task"}
    assert {p["name"] for p in resources["ServiceRequest"]["searchParam"]} >= {
        "patient", "status", "requester", "_lastUpdated"}


def test_keys_401_without_403_out_of_scope(fhir, client, data, service_request, location):
    for key, path, status in [(None, "/fhir/ServiceRequest", 401),
                              ("outreach", "/fhir/ServiceRequest", 403),
                              ("other", "/fhir/Task", 403),
                              ("reader", "/fhir/Task", 200)]:
        response = fhir.get(path, key=key)
        assert response.status_code == status, (key, path)
        if status != 200:
            code = response.json()["issue"][0]["code"]
            assert code == ("login" if status == 401 else "forbidden")
    assert fhir.post("/fhir/ServiceRequest", service_request, key="reader").status_code == 403
    assert fhir.post("/fhir/ServiceRequest", service_request, key=None).status_code == 401
    bad = client.get("/fhir/ServiceRequest", HTTP_AUTHORIZATION="Bearer rn_nope_nope")
    assert bad.status_code == 401 and bad["WWW-Authenticate"] == "Bearer"
    assert Referral.objects.count() == 3


def test_a_revoked_key_is_refused(fhir, keys, data):
    from refnet.api.keys import api_key_revoke

    api_key_revoke(key=keys["reader"][0], by=None)
    assert fhir.get("/fhir/ServiceRequest").status_code == 401


def test_export_and_search_queries_do_not_grow_with_the_referrals(fhir, data,
                                                                  django_assert_max_num_queries):
    # Key lookup, count, referrals, their identifiers and patients' identifiers, audit (3:
    # lock the chain head, insert the rows, move the head; docs/audit.md).
    with django_assert_max_num_queries(10):
        fhir.get("/fhir/ServiceRequest/$export", start="2026-01-01", end="2026-01-31")
    with django_assert_max_num_queries(10):
        fhir.get("/fhir/ServiceRequest")
