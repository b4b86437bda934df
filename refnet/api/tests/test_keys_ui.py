"""Settings > API keys: create (the key shown once), list, revoke."""

import hashlib
import re

import pytest

from refnet.api.models import ApiKey

pytestmark = pytest.mark.django_db


def _once(client) -> str:
    """The one-time token of a freshly drawn form."""
    html = client.get("/settings/api-keys/new/").content.decode()
    return re.search(r'name="once" value="([^"]+)"', html).group(1)


def test_create_shows_the_key_once_and_stores_its_hash(login, users):
    client = login("admin")
    form = {"name": "EHR <bridge>", "role": "coordinator", "can_read": "on",
            "can_write": "on", "resources": ["referrals", "partners"], "once": _once(client)}
    response = client.post("/settings/api-keys/new/", form)
    assert response.status_code == 201
    # Reloading the result page posts the same form again: no second key.
    again = client.post("/settings/api-keys/new/", form)
    assert again.status_code == 302 and ApiKey.objects.count() == 1
    html = response.content.decode()
    raw = re.search(r'value="(rn_[0-9a-f]{8}_[^"]+)"', html).group(1)
    assert "will not be shown again" in html and "EHR &lt;bridge&gt;" in html
    assert response["Cache-Control"].startswith("max-age=0")
    key = ApiKey.objects.get()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert (key.role, key.resources, key.can_write, key.created_by) == (
        "coordinator", ["partners", "referrals"], True, users["admin"])
    listing = client.get("/settings/api-keys/").content.decode()
    assert f"rn_{key.prefix}_" in listing and raw not in listing
    assert "never" in listing  # not used yet
    assert client.get("/api/partners", HTTP_X_API_KEY=raw).status_code == 200


def test_create_form_refuses_with_the_field_named(login):
    client = login("admin")
    once = _once(client)
    response = client.post("/settings/api-keys/new/", {"name": "", "role": "admin",
                                                        "once": once})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Name" in html and "Resources" in html and not ApiKey.objects.exists()
    response = client.post("/settings/api-keys/new/", {
        "name": "Script", "role": "admin", "resources": ["partners"], "once": once})
    assert "A key must be allowed to read or to write." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoke_asks_then_revokes(login, users, make_key):
    raw = make_key("admin")
    key = ApiKey.objects.get()
    client = login("admin")
    page = client.get(f"/settings/api-keys/{key.pk}/revoke/")
    assert "stops working at once" in page.content.decode()
    assert ApiKey.objects.get().revoked_at is None  # a GET changes nothing
    response = client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == users["admin"]
    assert "Revoked" in client.get("/settings/api-keys/").content.decode()
    assert client.get("/api/partners", HTTP_X_API_KEY=raw).status_code == 401
