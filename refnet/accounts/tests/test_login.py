"""Logging in: Argon2 hashes, each role's start page, lockout after repeated failures."""

import pytest
from django.urls import reverse

from refnet.conftest import PASSWORD

LOGIN = reverse("login")


def test_passwords_are_stored_with_argon2(db, settings):
    from refnet import settings as project_settings
    from refnet.accounts.models import User

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # undo the fast test hasher
    user = User.objects.create_user(username="argo", password=PASSWORD)
    assert user.password.startswith("argon2")


# Managers and admins land there after the code step: twofactor/tests/test_sign_in.py.
@pytest.mark.parametrize("role,start", [
    ("front_desk", "/referrals/intake/"), ("coordinator", "/referrals/"),
    ("outreach", "/reports/"),
])
def test_each_role_lands_on_its_start_page(client, users, role, start):
    response = client.post(LOGIN, {"username": users[role].username, "password": PASSWORD},
                           follow=True)
    assert response.redirect_chain[-1][0] == start


def test_wrong_password_says_so_without_logging_in(client, users):
    response = client.post(LOGIN, {"username": "fran", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, users, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "fran", "password": "wrong"})
    response = client.post(LOGIN, {"username": "fran", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(reverse("referrals:intake"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
