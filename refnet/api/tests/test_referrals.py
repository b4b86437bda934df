"""/api/referrals: filters, one referral, record one, move one along; the audit trail."""

from datetime import datetime

import pytest
from django.utils import timezone

from refnet.accounts.models import AuditEvent
from refnet.referrals.models import Patient, Referral, ReferralEvent

pytestmark = pytest.mark.django_db


def at(text):
    return timezone.make_aware(datetime.fromisoformat(text))


@pytest.fixture
def pipeline(make_referral, make_partner, make_patient, other_location):
    dana = make_partner(name="Dana Whitfield, MD")
    gym = make_partner(name="Birch Gym", kind="local_business")
    return {
        "jan": make_referral(source_partner=dana, received_at=at("2026-01-10 09:00"),
                             patient=make_patient("Ada", "Lovelace"), reason="Low back pain"),
        "feb": make_referral(source_partner=gym, received_at=at("2026-02-03 23:30"),
                             patient=make_patient("Grace", "Hopper")),
        "mar": make_referral(source_partner=dana, received_at=at("2026-03-01 00:15"),
                             patient=make_patient("Alan", "Turing"), location=other_location),
        "dana": dana, "gym": gym,
    }


def ids(response):
    return [r["id"] for r in response.json()["results"]]


def test_filters_by_source_location_and_local_days(api, pipeline, other_location):
    client = api("coordinator", write=False)
    p = pipeline
    assert ids(client.get("/referrals")) == [p["mar"].pk, p["feb"].pk, p["jan"].pk]
    assert ids(client.get("/referrals", {"source_partner": p["dana"].pk})) == [p["mar"].pk,
                                                                               p["jan"].pk]
    assert ids(client.get("/referrals", {"location": other_location.pk})) == [p["mar"].pk]
    # 23:30 on Feb 3 in New York is Feb 4 in UTC: it is still Feb 3's referral.
    assert ids(client.get("/referrals", {"received_from": "2026-02-03",
                                         "received_to": "2026-02-03"})) == [p["feb"].pk]
    assert ids(client.get("/referrals", {"received_to": "2026-02-28"})) == [p["feb"].pk,
                                                                            p["jan"].pk]


def test_status_filter_and_updated_since(api, pipeline, users):
    from refnet.referrals.services import referral_transition

    referral_transition(referral=pipeline["jan"], to_status="contacted", by=users["coordinator"])
    client = api("coordinator", write=False)
    assert ids(client.get("/referrals", {"status": "contacted"})) == [pipeline["jan"].pk]
    since = timezone.now().isoformat()
    assert ids(client.get("/referrals", {"updated_since": since})) == []
    referral_transition(referral=pipeline["feb"], to_status="contacted", by=None)
    assert ids(client.get("/referrals", {"updated_since": since})) == [pipeline["feb"].pk]


def test_bad_period_names_the_field(api, db):
    body = api().get("/referrals", {"received_from": "2026-02-01",
                                    "received_to": "2026-01-01"}).json()
    assert body["errors"][0]["field"] == "query.received_to"
    body = api().get("/referrals", {"received_from": "31/01/2026"}).json()
    assert body["errors"][0]["field"] == "query.received_from"


def test_one_referral_with_patient_and_clinical_fields(api, pipeline):
    body = api("coordinator").get(f"/referrals/{pipeline['jan'].pk}").json()
    assert body["patient"]["first_name"] == "Ada" and body["reason"] == "Low back pain"
    assert body["source_partner_name"] == "Dana Whitfield, MD"
    assert body["allowed_next"] == ["contacted", "scheduled", "closed_lost"]


def test_reads_write_the_audit_trail_as_the_key(api, pipeline):
    client = api("coordinator", write=False, name="EHR bridge")
    client.get("/referrals", {"limit": 2})
    client.get(f"/referrals/{pipeline['jan'].pk}")
    rows = list(AuditEvent.objects.order_by("id").values_list("username", "patient_id",
                                                              "action", "what"))
    name = rows[0][0]
    assert name.startswith("api-key:") and name.endswith(":EHR bridge")
    assert rows == [
        (name, pipeline["mar"].patient_id, "query", "api:referrals:list"),
        (name, pipeline["feb"].patient_id, "query", "api:referrals:list"),
        (name, pipeline["jan"].patient_id, "view", f"api:referral:{pipeline['jan'].pk}"),
    ]


def test_record_a_referral_with_a_new_patient(api, pipeline, location):
    client = api("front_desk")
    response = client.post("/referrals", {
        "patient": {"first_name": "Katherine", "last_name": "Johnson",
                    "birth_date": "1958-08-26"},
        "source_partner_id": pipeline["dana"].pk, "location_id": location.pk,
        "channel": "fax", "reason": "Knee rehab", "received_at": "2026-03-02T10:00:00",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    referral = Referral.objects.get(pk=body["id"])
    assert referral.patient.last_name == "Johnson" and referral.channel == "fax"
    assert referral.received_at == at("2026-03-02 10:00")  # naive times are practice-local
    assert referral.events.get().to_status == "received"
    audit = AuditEvent.objects.get()
    assert (audit.action, audit.patient_id) == ("create", referral.patient_id)


def test_a_refused_referral_leaves_no_patient_behind(api, location):
    before = Patient.objects.count()
    response = api("front_desk").post("/referrals", {
        "patient": {"first_name": "Katherine", "last_name": "Johnson", "email": "nope"},
        "source_unknown": True, "location_id": location.pk,
    })
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.patient.email"
    assert Patient.objects.count() == before and not Referral.objects.exists()


def test_record_needs_exactly_one_patient_and_an_existing_location(api, pipeline):
    client = api("front_desk")
    body = client.post("/referrals", {"source_unknown": True, "location_id": 1}).json()
    assert body["errors"][0]["field"] == "body.patient_id"
    body = client.post("/referrals", {"patient_id": pipeline["jan"].patient_id,
                                      "source_unknown": True, "location_id": 999999}).json()
    assert body["errors"] == [{"field": "body.location_id", "code": "not_found",
                               "message": "No location with id 999999."}]
    body = client.post("/referrals", {"patient_id": pipeline["jan"].patient_id,
                                      "location_id": pipeline["jan"].location_id}).json()
    assert body["errors"][0]["field"] == "body.source_partner_id"
    assert Referral.objects.count() == 3


def test_transition_follows_the_app_rules(api, pipeline):
    client = api("coordinator")
    referral = pipeline["jan"]
    response = client.post(f"/referrals/{referral.pk}/transition",
                           {"to_status": "scheduled", "expected_status": "received",
                            "note": "Booked for Tuesday"})
    assert response.status_code == 200 and response.json()["status"] == "scheduled"
    event = ReferralEvent.objects.filter(referral=referral).last()
    assert (event.from_status, event.to_status, event.note) == ("received", "scheduled",
                                                                "Booked for Tuesday")
    assert AuditEvent.objects.filter(action="update", patient_id=referral.patient_id).exists()
    # a stale client: it still thinks the referral is received
    stale = client.post(f"/referrals/{referral.pk}/transition",
                        {"to_status": "contacted", "expected_status": "received"})
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    assert "someone moved it" in stale.json()["message"]
    lost = client.post(f"/referrals/{referral.pk}/transition", {"to_status": "closed_lost"})
    assert lost.status_code == 422
    assert lost.json()["errors"][0]["field"] == "body.outcome"
    referral.refresh_from_db()
    assert referral.status == "scheduled"


def test_removed_referrals_are_left_out_unless_asked_for(api, pipeline, users):
    from refnet.referrals.services import referral_remove

    p = pipeline
    referral_remove(referral=p["feb"], by=users["manager"], reason="Duplicate")
    client = api("coordinator", write=False)
    assert ids(client.get("/referrals")) == [p["mar"].pk, p["jan"].pk]
    assert client.get(f"/referrals/{p['feb'].pk}").status_code == 404
    listed = client.get("/referrals", {"include_removed": "true"}).json()["results"]
    assert [r["id"] for r in listed] == [p["mar"].pk, p["feb"].pk, p["jan"].pk]
    removed = next(r for r in listed if r["id"] == p["feb"].pk)
    assert removed["removed_at"] is not None and removed["allowed_next"] == []
    assert all(r["removed_at"] is None for r in listed if r["id"] != p["feb"].pk)
