"""Wrong codes count like wrong passwords: django-axes locks username+address after
AXES_FAILURE_LIMIT, and django-otp makes each further try wait longer."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from refnet.conftest import PASSWORD
from refnet.twofactor.testing import totp_code, totp_device_for

LOGIN = reverse("login")
VERIFY = reverse("twofactor:verify")


def test_repeated_wrong_codes_lock_the_account(client, users, settings):
    device = totp_device_for(users["manager"])
    client.post(LOGIN, {"username": "mona", "password": PASSWORD})
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(VERIFY, {"code": "000000"}).status_code == 200
    locked = client.post(VERIFY, {"code": "000000"})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session  # the half-signed-in session is gone

    # Locked for the password step too, even with the right password.
    again = client.post(LOGIN, {"username": "mona", "password": PASSWORD})
    assert again.status_code == 429
    assert device.user_id == users["manager"].pk


def test_a_correct_password_does_not_wipe_earlier_wrong_codes(client, users, settings):
    totp_device_for(users["manager"])
    limit = settings.AXES_FAILURE_LIMIT
    client.post(LOGIN, {"username": "mona", "password": PASSWORD})
    for _ in range(limit - 1):
        client.post(VERIFY, {"code": "000000"})
    client.post(reverse("logout"))
    client.post(LOGIN, {"username": "mona", "password": PASSWORD})  # right password
    assert client.post(VERIFY, {"code": "000000"}).status_code == 429


def test_a_full_sign_in_clears_the_failures(client, users, settings):
    device = totp_device_for(users["manager"])
    client.post(LOGIN, {"username": "mona", "password": PASSWORD})
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(settings.AXES_FAILURE_LIMIT - 2):
            client.post(VERIFY, {"code": "000000"})
        traveller.shift(timedelta(minutes=5))  # past django-otp's growing wait
        assert client.post(VERIFY, {"code": totp_code(device)}).status_code == 302
    client.post(reverse("logout"))
    client.post(LOGIN, {"username": "mona", "password": PASSWORD})
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(VERIFY, {"code": "000000"}).status_code == 200


def test_after_a_wrong_code_the_next_try_must_wait(client, users, settings):
    """django-otp's throttle: 1, 2, 4, 8 ... seconds between tries after wrong codes, even
    for the right code, so guessing a 6-digit code is hopeless."""
    settings.AXES_FAILURE_LIMIT = 100  # look at the throttle alone
    device = totp_device_for(users["manager"])
    client.force_login(users["manager"])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(3):
            client.post(VERIFY, {"code": "000000"})
        refused = client.post(VERIFY, {"code": totp_code(device)})
        assert refused.status_code == 200
        assert "next try is possible from" in refused.content.decode()
        traveller.shift(timedelta(seconds=9))
        assert client.post(VERIFY, {"code": totp_code(device)}).status_code == 302
