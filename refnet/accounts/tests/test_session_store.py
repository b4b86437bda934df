"""The session store (accounts/sessions.py): a session is read while it lasts, never after."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

INTAKE = reverse("referrals:intake")


def test_a_live_session_is_read_and_an_expired_one_is_not(login):
    client = login("front_desk")
    assert client.get(INTAKE).status_code == 200
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(INTAKE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_unknown_session_key_is_a_signed_out_visitor(client, db):
    client.cookies["sessionid"] = "x" * 32
    response = client.get(INTAKE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
