"""Signing in as a manager or admin: password, then a code from the authenticator app; the
first time, enrolling the app and receiving backup codes."""

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from refnet.conftest import PASSWORD
from refnet.twofactor.models import SecondFactorAction, SecondFactorEvent
from refnet.twofactor.testing import totp_code, totp_device_for

LOGIN = reverse("login")
VERIFY = reverse("twofactor:verify")
ENROLL = reverse("twofactor:enroll")


def password_step(client, user, next_url=""):
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data, follow=True)


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_first_login_enrolls_an_app_and_shows_backup_codes_once(client, users, role):
    user = users[role]
    page = password_step(client, user)
    assert page.redirect_chain[-1][0].startswith(ENROLL)
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = re.search(r'id="secret">([A-Z2-7]+)<', html).group(1)
    assert f"otpauth://totp/refnet%3A{user.username}?secret={secret}" in html.replace("&amp;", "&")
    assert "<svg" in html  # the QR code, drawn on the server
    assert 'class="topbar"' not in html  # no menu to places the session may not go yet

    wrong = client.post(ENROLL, {"code": "000000", "next": "/"})
    assert "That code did not work" in wrong.content.decode()

    device.throttle_reset()
    done = client.post(ENROLL, {"code": totp_code(device), "next": "/"}, follow=True)
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True)) \
        == set(codes)
    assert "already shown" in client.get(reverse("twofactor:backup_codes")).content.decode()
    assert TOTPDevice.objects.get(user=user).confirmed
    assert SecondFactorEvent.objects.filter(user=user, action=SecondFactorAction.ENROLLED).exists()
    start = client.get("/", follow=True)
    assert start.status_code == 200 and start.redirect_chain[-1][0] != ENROLL


def test_reloading_the_enrolment_page_keeps_the_same_secret(client, users):
    client.force_login(users["manager"])
    first = re.search(r'id="secret">(\w+)<', client.get(ENROLL).content.decode()).group(1)
    second = re.search(r'id="secret">(\w+)<', client.get(ENROLL).content.decode()).group(1)
    assert first == second


def test_enrolled_manager_gives_the_code_and_lands_on_the_dashboard(client, users):
    device = totp_device_for(users["manager"])
    page = password_step(client, users["manager"])
    assert page.redirect_chain[-1][0].startswith(VERIFY)
    assert "6-digit code" in page.content.decode()
    done = client.post(page.redirect_chain[-1][0], {"code": totp_code(device)}, follow=True)
    assert done.redirect_chain[-1][0] == "/reports/"


def test_the_code_step_keeps_where_the_user_was_going(client, users):
    device = totp_device_for(users["admin"])
    page = password_step(client, users["admin"], next_url="/partners/")
    done = client.post(page.redirect_chain[-1][0], {"code": totp_code(device)}, follow=True)
    assert done.redirect_chain[-1][0] == "/partners/"


def test_the_code_step_refuses_a_link_to_another_site(client, users):
    device = totp_device_for(users["manager"])
    client.force_login(users["manager"])
    response = client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_code_cannot_be_used_twice(client, users):
    device = totp_device_for(users["manager"])
    code = totp_code(device)
    client.force_login(users["manager"])
    assert client.post(VERIFY, {"code": code})["Location"] == "/"
    client.logout()
    client.force_login(users["manager"])
    again = client.post(VERIFY, {"code": code})
    assert again.status_code == 200 and "did not work" in again.content.decode()


def test_a_backup_code_signs_in_once(client, users):
    user = users["manager"]
    totp_device_for(user)
    from refnet.twofactor.services import backup_codes_issue
    codes = backup_codes_issue(user=user, address=None)
    client.force_login(user)
    used = client.post(VERIFY, {"code": codes[0].upper()}, follow=True)
    assert used.redirect_chain[-1][0] == "/reports/"
    assert "You used a backup code; 9 left" in used.content.decode()
    client.logout()
    client.force_login(user)
    assert client.post(VERIFY, {"code": codes[0]}).status_code == 200  # refused, page again


def test_an_enrolled_user_cannot_enrol_a_new_app_without_the_old_one(client, users):
    totp_device_for(users["manager"])
    client.force_login(users["manager"])
    response = client.get(ENROLL)
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=users["manager"]).count() == 1


def test_other_roles_sign_in_with_the_password_alone(client, users):
    page = password_step(client, users["coordinator"])
    assert page.redirect_chain[-1][0] == "/referrals/"


def test_other_roles_may_enrol_and_are_then_asked_for_the_code(client, users):
    user = users["front_desk"]
    client.force_login(user)
    assert "you can add one" in client.get(reverse("twofactor:security")).content.decode()
    client.get(ENROLL)
    device = TOTPDevice.objects.get(user=user)
    client.post(ENROLL, {"code": totp_code(device)})
    assert TOTPDevice.objects.get(user=user).confirmed
    client.logout()

    page = password_step(client, user)
    assert page.redirect_chain[-1][0].startswith(VERIFY)
    done = client.post(page.redirect_chain[-1][0], {"code": totp_code(device)}, follow=True)
    assert done.redirect_chain[-1][0] == "/referrals/intake/"


def test_new_backup_codes_replace_the_old_ones(login, users):
    client = login("manager")
    from refnet.twofactor.services import backup_codes_issue
    old = backup_codes_issue(user=users["manager"], address=None)
    page = client.post(reverse("twofactor:backup_codes_new"), follow=True)
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert SecondFactorEvent.objects.filter(user=users["manager"],
                                            action=SecondFactorAction.BACKUP_CODES).count() == 2
