"""The unsubscribe link in partner emails (CAN-SPAM; RFC 8058 one-click)."""

from refnet.outbox.addresses import unsubscribe_token, unsubscribe_url
from refnet.outbox.models import Suppression


def _path(address="Desk@IronGym.example"):
    return f"/u/unsubscribe/{unsubscribe_token('email', address)}/"


def test_the_link_in_an_email_points_here():
    assert unsubscribe_url("email", "a@b.example").split("/u/", 1)[1].startswith("unsubscribe/")


def test_get_asks_to_confirm_and_changes_nothing(client, db):
    response = client.get(_path())
    assert response.status_code == 200
    assert "<form" in response.content.decode() and "Unsubscribe" in response.content.decode()
    assert not Suppression.objects.exists()


def test_post_records_the_suppression_and_says_so(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    page = client.get(_path())
    assert page.status_code == 200
    response = client.post(_path(), {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert response.status_code == 200
    assert "You will no longer receive these emails" in response.content.decode()
    suppression = Suppression.objects.get()
    assert (suppression.channel, suppression.address, suppression.reason) == (
        "email", "desk@irongym.example", "unsubscribe")
    # Twice is fine: still one suppression.
    client.post(_path())
    assert Suppression.objects.count() == 1


def test_one_click_post_without_csrf_works(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(_path(), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Suppression.objects.filter(address="desk@irongym.example").exists()


def test_a_tampered_token_gets_a_clear_400(client, db):
    token = unsubscribe_token("email", "desk@irongym.example")
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nothing"):
        response = client.post(f"/u/unsubscribe/{bad}/")
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    assert not Suppression.objects.exists()


def test_an_unsubscribed_address_gets_no_more_email(client, make_partner):
    from refnet.outbox.compose import message_send

    gym = make_partner(name="Iron Gym", kind="local_business", email="desk@irongym.example")
    client.post(_path())
    try:
        message_send(purpose="check_in", channel="email", partner=gym, by=None)
    except Exception as exc:  # noqa: BLE001 - the message names the reason
        assert "opted out" in str(exc)
    else:
        raise AssertionError("an unsubscribed address got a message")
