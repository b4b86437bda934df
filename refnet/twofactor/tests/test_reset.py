"""An admin resets a lost phone: recorded with who and why; the user enrols again."""

from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from refnet.twofactor.models import SecondFactorAction, SecondFactorEvent
from refnet.twofactor.services import backup_codes_issue
from refnet.twofactor.testing import force_login_verified, totp_device_for


def test_admin_resets_a_managers_second_factor_and_it_is_recorded(login, users, client):
    manager = users["manager"]
    totp_device_for(manager)
    backup_codes_issue(user=manager, address=None)
    admin = login("admin")
    listing = admin.get(reverse("twofactor:users")).content.decode()
    assert "mona" in listing and "set up" in listing

    response = admin.post(reverse("twofactor:user_reset", args=[manager.pk]),
                          {"reason": "Lost phone, confirmed in person"}, follow=True)
    assert "second factor was reset" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert not StaticDevice.objects.filter(user=manager).exists()
    event = SecondFactorEvent.objects.get(user=manager, action=SecondFactorAction.RESET)
    assert event.by == users["admin"] and event.reason == "Lost phone, confirmed in person"
    listing = admin.get(reverse("twofactor:users")).content.decode()
    assert "Lost phone, confirmed in person" in listing


def test_a_reset_user_is_sent_to_enrol_even_in_a_session_that_was_verified(client, users):
    manager = users["manager"]
    force_login_verified(client, manager)
    assert client.get("/reports/").status_code == 200
    TOTPDevice.objects.filter(user=manager).delete()
    response = client.get("/reports/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor:enroll"))


def test_a_reset_needs_a_reason(login, users):
    totp_device_for(users["manager"])
    login("admin").post(reverse("twofactor:user_reset", args=[users["manager"].pk]),
                        {"reason": ""})
    assert TOTPDevice.objects.filter(user=users["manager"]).exists()


def test_only_admins_reset_second_factors(login, users):
    totp_device_for(users["front_desk"])
    client = login("manager")
    response = client.post(reverse("twofactor:user_reset", args=[users["front_desk"].pk]),
                           {"reason": "because"})
    assert response.status_code == 403
    assert client.get(reverse("twofactor:users")).status_code == 403
    assert TOTPDevice.objects.filter(user=users["front_desk"]).exists()


def test_the_command_line_resets_when_no_admin_can_sign_in(users, capsys):
    from django.core.management import call_command

    totp_device_for(users["admin"])
    call_command("second_factor_reset", "adam", reason="only admin lost phone")
    assert not TOTPDevice.objects.filter(user=users["admin"]).exists()
    event = SecondFactorEvent.objects.get(user=users["admin"])
    assert event.by is None and "only admin lost phone" in event.reason
    assert "Removed 1 device(s) of adam" in capsys.readouterr().out


def test_the_demo_logins_say_managers_and_admins_set_up_an_app(users):
    from refnet.practice.demo import DEMO_PASSWORD, logins_table

    table = logins_table()
    assert DEMO_PASSWORD in table
    assert table.count("set up at first log-in") == 2  # manager and admin
    assert table.count("optional") == 3
