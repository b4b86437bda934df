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


def test_the_sessions_user_is_read_as_the_orm_reads_it(users):
    """accounts.backends.user_by_pk: every field as User.objects.get gives it (datetimes
    aware on SQLite too); nobody for a missing or malformed id."""
    from refnet.accounts.backends import user_by_pk
    from refnet.accounts.models import User

    user = users["coordinator"]
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    expected = User.objects.get(pk=user.pk)
    got = user_by_pk(str(user.pk))  # the session keeps the id as text
    assert got is not None and got.pk == user.pk
    for field in User._meta.concrete_fields:
        assert getattr(got, field.attname) == getattr(expected, field.attname), field.name
    assert timezone.is_aware(got.last_login) and timezone.is_aware(got.date_joined)
    assert user_by_pk(10**9) is None
    assert user_by_pk("not-an-id") is None


def test_a_deactivated_user_is_signed_out_on_their_next_request(login, users):
    client = login("front_desk")
    assert client.get(INTAKE).status_code == 200
    users["front_desk"].__class__.objects.filter(pk=users["front_desk"].pk).update(
        is_active=False)
    response = client.get(INTAKE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_session_signed_in_through_djangos_model_backend_stays_signed_in(login):
    """Sessions from before accounts.backends.UserBackend name Django's ModelBackend, which
    is no longer listed: they are read as UserBackend's, not signed out."""
    from django.contrib.auth import BACKEND_SESSION_KEY

    from refnet.accounts.sessions import SessionStore

    client = login("front_desk")
    key = client.cookies["sessionid"].value
    store = SessionStore(session_key=key)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store.save()
    assert client.get(INTAKE).status_code == 200
