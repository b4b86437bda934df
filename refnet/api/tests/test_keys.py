"""API keys from an integration's side: shown once, stored hashed, revocable, last use."""

import hashlib

import pytest
from django.db import connection

from refnet.api.keys import api_key_create, api_key_revoke
from refnet.api.models import ApiKey
from refnet.twofactor.testing import force_login_verified

pytestmark = pytest.mark.django_db


def test_the_raw_key_is_stored_nowhere_only_its_sha256(users):
    key, raw = api_key_create(name="EHR", role="coordinator", resources=["referrals"],
                              by=users["admin"])
    assert raw.startswith(f"rn_{key.prefix}_") and len(raw) > 40
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apikey")
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
    secret = raw.removeprefix(f"rn_{key.prefix}_")  # may itself hold "_" (token_urlsafe)
    assert raw not in stored and secret not in stored


def test_bearer_and_x_api_key_headers_both_work(client, make_key):
    raw = make_key("manager", write=False)
    assert client.get("/api/partners", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert client.get("/api/partners", HTTP_X_API_KEY=raw).status_code == 200


@pytest.mark.parametrize("headers", [
    {}, {"HTTP_AUTHORIZATION": "Bearer rn_nope_nope"}, {"HTTP_X_API_KEY": "not-a-key"},
    {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
])
def test_missing_or_wrong_key_is_401_json(client, db, headers):
    response = client.get("/api/partners", **headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "unauthenticated" and "API key" in body["message"]


def test_a_revoked_key_stops_working_at_once(client, users, make_key):
    raw = make_key("admin")
    assert client.get("/api/partners", HTTP_X_API_KEY=raw).status_code == 200
    api_key_revoke(key=ApiKey.objects.get(), by=users["admin"])
    response = client.get("/api/partners", HTTP_X_API_KEY=raw)
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


def test_last_use_and_address_are_recorded(client, make_key):
    raw = make_key("admin")
    assert ApiKey.objects.get().last_used_at is None
    client.get("/api/partners", HTTP_X_API_KEY=raw, REMOTE_ADDR="203.0.113.9")
    key = ApiKey.objects.get()
    assert key.last_used_at is not None and key.last_used_from == "203.0.113.9"


def test_a_logged_in_session_is_not_a_key(client, users):
    force_login_verified(client, users["admin"])
    assert client.get("/api/partners").status_code == 401
