"""The SMS provider's webhook: a shared secret, then STOP/START handling by the outbox."""

import pytest
from django.core.management import call_command

from refnet.outbox.models import InboundSms, Suppression

URL = "/u/sms/inbound/"


@pytest.fixture
def secret(settings):
    settings.REFNET_SMS_WEBHOOK_SECRET = "s3cret-for-tests"
    return settings.REFNET_SMS_WEBHOOK_SECRET


def test_no_secret_configured_means_no_endpoint(client, db, settings):
    settings.REFNET_SMS_WEBHOOK_SECRET = ""
    response = client.post(URL, {"From": "+13035550142", "Body": "STOP"},
                           HTTP_X_REFNET_WEBHOOK_SECRET="")
    assert response.status_code == 404
    assert not InboundSms.objects.exists()


def test_a_wrong_or_missing_secret_is_refused(client, db, secret):
    for header in ({"HTTP_X_REFNET_WEBHOOK_SECRET": "guess"}, {}):
        response = client.post(URL, {"From": "+13035550142", "Body": "STOP"}, **header)
        assert response.status_code == 403
    assert not InboundSms.objects.exists() and not Suppression.objects.exists()


def test_stop_with_the_right_secret_opts_the_number_out_and_start_back_in(client, db, secret):
    response = client.post(URL, {"From": "+1 (303) 555-0142", "Body": " stop "},
                           HTTP_X_REFNET_WEBHOOK_SECRET=secret)
    assert response.status_code == 200
    assert Suppression.objects.filter(channel="sms", address="3035550142").exists()
    client.post(URL, {"From": "303-555-0142", "Body": "START"}, HTTP_X_REFNET_WEBHOOK_SECRET=secret)
    assert not Suppression.objects.exists()
    assert list(InboundSms.objects.order_by("id").values_list("action", flat=True)) == [
        "opt_out", "opt_in"]


def test_a_missing_sender_is_a_400_naming_the_field(client, db, secret):
    response = client.post(URL, {"Body": "STOP"}, HTTP_X_REFNET_WEBHOOK_SECRET=secret)
    assert response.status_code == 400 and b"From" in response.content


def test_get_is_not_allowed(client, db, secret):
    assert client.get(URL).status_code == 405


def test_the_development_command_records_a_text(db, capsys):
    call_command("sms_inbound", "--from", "(303) 555-0142", "STOP")
    assert "opted out" in capsys.readouterr().out
    assert Suppression.objects.filter(channel="sms", address="3035550142").exists()
