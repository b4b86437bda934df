"""Scope and role: a key does only what both its scope and its role allow."""

import pytest

from refnet.accounts.models import AuditEvent
from refnet.twofactor.testing import force_login_verified

pytestmark = pytest.mark.django_db


def test_a_read_only_key_cannot_write(api):
    response = api("admin", write=False).post("/partners", {"kind": "clinician", "name": "X"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert "may only read" in response.json()["message"]


def test_a_key_cannot_touch_a_resource_outside_its_scope(api, make_referral):
    referral = make_referral()
    client = api("admin", resources=["partners"])
    for path in ("/referrals", f"/referrals/{referral.pk}", "/followups", "/reports"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden"
    assert client.get("/partners").status_code == 200


def test_an_outreach_key_gets_no_referrals_and_no_patient_data(api, make_referral,
                                                                make_partner):
    partner = make_partner(name="Dana Whitfield, MD")
    referral = make_referral(source_partner=partner)
    client = api("outreach")
    for path in ("/referrals", f"/referrals/{referral.pk}"):
        response = client.get(path)
        assert response.status_code == 403
        assert "Outreach" in response.json()["message"]
    response = client.post("/referrals", {"patient_id": referral.patient_id,
                                          "source_unknown": True,
                                          "location_id": referral.location_id})
    assert response.status_code == 403
    # The partner itself is fine (outreach works the directory), without any patient on it.
    body = client.get(f"/partners/{partner.pk}").json()
    assert body["name"] == "Dana Whitfield, MD"
    assert "Synthetic" not in str(body) and "patient" not in body
    assert not AuditEvent.objects.exists()


def test_a_front_desk_key_may_record_but_not_move_referrals(api, make_referral):
    referral = make_referral()
    client = api("front_desk")
    assert client.get(f"/referrals/{referral.pk}").json()["patient"]["last_name"] == "Synthetic"
    response = client.post(f"/referrals/{referral.pk}/transition", {"to_status": "contacted"})
    assert response.status_code == 403 and "referrals.work" in response.json()["message"]


def test_follow_ups_need_a_role_that_sees_everyones(api):
    assert api("coordinator").get("/followups").status_code == 403
    assert api("manager").get("/followups").status_code == 200


def test_key_management_pages_are_for_admins_only(client, users):
    for role in ("front_desk", "coordinator", "outreach", "manager"):
        force_login_verified(client, users[role])
        assert client.get("/settings/api-keys/").status_code == 403
    force_login_verified(client, users["admin"])
    assert client.get("/settings/api-keys/").status_code == 200
