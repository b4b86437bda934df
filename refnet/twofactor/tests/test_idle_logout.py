"""Idle logout: after REFNET_IDLE_TIMEOUT_MINUTES without a request, the next one goes to the
log-in page with a message saying why. The session is not written on every request."""

from datetime import timedelta

import time_machine
from django.conf import settings as project_settings
from django.urls import reverse
from django.utils import timezone

LOGIN = reverse("login")


def test_default_is_fifteen_minutes():
    assert project_settings.REFNET_IDLE_TIMEOUT_MINUTES == 15


def test_after_fifteen_idle_minutes_the_next_request_goes_to_log_in(login):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = login("coordinator")
        assert client.get("/referrals/").status_code == 200
        traveller.shift(timedelta(minutes=15, seconds=30))
        response = client.get("/referrals/", follow=True)
    assert response.redirect_chain[0][0] == f"{LOGIN}?next=%2Freferrals%2F"
    assert "signed out after 15 minutes without activity" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_activity_keeps_the_session_alive(login):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = login("manager")
        for _ in range(6):  # an hour and a half of work, a request every 14 minutes
            traveller.shift(timedelta(minutes=14))
            assert client.get("/reports/").status_code == 200


def test_the_timeout_is_a_setting(login, settings):
    settings.REFNET_IDLE_TIMEOUT_MINUTES = 5
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = login("front_desk")
        client.get("/referrals/intake/")
        traveller.shift(timedelta(minutes=6))
        response = client.get("/referrals/intake/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_htmx_requests_after_the_timeout_load_the_log_in_page(login):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = login("coordinator")
        client.get("/inbox/")
        traveller.shift(timedelta(minutes=20))
        response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(LOGIN)


def test_the_session_is_written_at_most_once_a_minute(login):
    """A busy user's requests do not each rewrite the session row (the load test runs at
    150 requests/s); the cookie is sent again only when the session was saved."""
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client = login("coordinator")
        client.get("/referrals/")  # the first request records the last-seen time
        written = []
        for seconds in (10, 20, 30, 50, 70, 80):
            traveller.move_to(start + timedelta(seconds=seconds))
            response = client.get("/referrals/")
            if project_settings.SESSION_COOKIE_NAME in response.cookies:
                written.append(seconds)
    assert written == [70]
