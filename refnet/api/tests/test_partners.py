"""/api/partners and their contacts: filters, pages, create, change, clear errors."""

import pytest

from refnet.partners.models import Contact, Partner, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def directory(make_partner, users):
    made = {}
    for name, kind, extra in [
        ("Alder Family Medicine", "medical_practice", {"stage": "active"}),
        ("Birch Gym", "local_business", {"category": "gym_trainer"}),
        ("Cedar Yoga", "local_business", {"category": "sports_yoga", "stage": "active"}),
        ("Dana Whitfield, MD", "clinician", {"owner": users["outreach"]}),
        ("Elm School", "community_org", {"category": "school_teacher"}),
    ]:
        made[name] = make_partner(name=name, kind=kind, **extra)
    return made


def names(response):
    return [p["name"] for p in response.json()["results"]]


def test_list_filters_by_kind_category_stage_owner(api, directory):
    client = api("manager", write=False)
    assert names(client.get("/partners", {"kind": "local_business"})) == ["Birch Gym",
                                                                          "Cedar Yoga"]
    assert names(client.get("/partners", {"category": "gym_trainer"})) == ["Birch Gym"]
    assert names(client.get("/partners", {"stage": "active"})) == ["Alder Family Medicine",
                                                                   "Cedar Yoga"]
    assert names(client.get("/partners", {"owner": "otto"})) == ["Dana Whitfield, MD"]


def test_name_search_forgives_a_typo(api, directory):
    assert names(api().get("/partners", {"q": "whitfeld"})) == ["Dana Whitfield, MD"]


def test_updated_since(api, directory):
    Partner.objects.update(updated_at="2026-01-01T00:00:00Z")
    Partner.objects.filter(name="Elm School").update(updated_at="2026-03-01T00:00:00Z")
    response = api().get("/partners", {"updated_since": "2026-02-01T00:00:00Z"})
    assert names(response) == ["Elm School"]


def test_pages_with_total_and_next_link(api, directory):
    client = api()
    first = client.get("/partners", {"limit": 2}).json()
    assert first["count"] == 5 and [p["name"] for p in first["results"]] == [
        "Alder Family Medicine", "Birch Gym"]
    assert first["previous"] is None and "offset=2" in first["next"]
    last = client.get("/partners", {"limit": 2, "offset": 4}).json()
    assert [p["name"] for p in last["results"]] == ["Elm School"] and last["next"] is None
    assert "offset=2" in last["previous"]


def test_limit_is_capped_at_200(api, directory):
    response = api().get("/partners", {"limit": 201})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.limit"


def test_create_with_tags_and_owner(api, users):
    response = api().post("/partners", {
        "kind": "local_business", "name": "Fir CrossFit", "category": "gym_trainer",
        "owner": "otto", "tags": ["Sports medicine", "sports  medicine"], "cadence_days": 30,
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == "otto" and body["tags"] == ["Sports medicine"]
    partner = Partner.objects.get(pk=body["id"])
    assert partner.cadence_days == 30 and partner.owner == users["outreach"]
    assert partner.history.first().history_type == "+"


def test_create_refused_names_the_field_and_saves_nothing(api):
    response = api().post("/partners", {"kind": "local_business", "name": "Gym",
                                        "npi": "1234567893", "tags": ["new tag"]})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"] == [{"field": "body.npi", "code": "invalid",
                               "message": "NPI and taxonomy are for clinicians and practices."}]
    assert "body.npi" in body["message"]
    assert not Partner.objects.exists() and not Tag.objects.exists()


def test_missing_field_and_bad_json(api):
    client = api()
    body = client.post("/partners", {"kind": "clinician"}).json()
    assert body["errors"] == [{"field": "body.name", "code": "missing",
                               "message": "Field required"}]
    response = client.client.post("/api/partners", "{oops", content_type="application/json",
                                  **client.headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


def test_unknown_owner_and_nul_bytes_are_refused_by_field(api):
    client = api()
    body = client.post("/partners", {"kind": "clinician", "name": "X", "owner": "ghost"}).json()
    assert body["errors"][0]["field"] == "body.owner" and "ghost" in body["message"]
    body = client.post("/partners", {"kind": "clinician", "name": "X\x00"}).json()
    assert body["errors"][0]["field"] == "body.name"
    assert not Partner.objects.exists()


def test_patch_changes_only_what_was_sent(api, directory):
    partner = directory["Birch Gym"]
    response = api().patch(f"/partners/{partner.pk}", {"stage": "engaged", "phone": "555-0101"})
    assert response.status_code == 200, response.content
    partner.refresh_from_db()
    assert (partner.stage, partner.phone, partner.category) == ("engaged", "555-0101",
                                                                "gym_trainer")


def test_patch_refusal_leaves_the_partner_as_it_was(api, directory):
    partner = directory["Birch Gym"]
    response = api().patch(f"/partners/{partner.pk}", {"stage": "active", "website": "nope"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.website"
    partner.refresh_from_db()
    assert partner.stage == "prospect"


def test_patch_null_clears_a_text_field_and_is_refused_for_required_ones(api, directory):
    partner = directory["Birch Gym"]
    client = api()
    response = client.patch(f"/partners/{partner.pk}", {"phone": None, "npi": None})
    assert response.status_code == 200, response.content
    partner.refresh_from_db()
    assert (partner.phone, partner.npi) == ("", "")
    for field in ("name", "kind", "cadence_days", "do_not_contact"):
        response = client.patch(f"/partners/{partner.pk}", {field: None})
        assert response.status_code == 422, field
        assert response.json()["errors"][0]["field"] == f"body.{field}"


def test_missing_partner_is_404_json(api, db):
    response = api().get("/partners/999999")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_contacts_list_and_create(api, directory, make_contact):
    partner = directory["Alder Family Medicine"]
    make_contact(partner, name="Janet Okafor", is_primary=True)
    client = api()
    response = client.post(f"/partners/{partner.pk}/contacts",
                           {"name": "Ravi Patel", "title": "Office manager",
                            "email": "ravi@alder.example"})
    assert response.status_code == 201
    listed = client.get(f"/partners/{partner.pk}/contacts").json()
    assert [c["name"] for c in listed["results"]] == ["Janet Okafor", "Ravi Patel"]
    # the new contact is searchable at once
    assert names(client.get("/partners", {"q": "ravi patel"})) == ["Alder Family Medicine"]
    bad = client.post(f"/partners/{partner.pk}/contacts", {"name": "Z", "email": "not-mail"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.email"
    assert Contact.objects.count() == 2
