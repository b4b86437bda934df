"""Outreach fixtures: an event in the future, the loopback SMTP server from the outbox."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from refnet.outbox.tests.conftest import LoopbackSmtp


@pytest.fixture
def make_event(db, users):
    from refnet.outreach.services import event_save

    def make(**fields):
        start = fields.pop("starts_at", timezone.now() + timedelta(days=10))
        values = {"title": "Talk at Iron Works Gym", "kind": "talk", "starts_at": start,
                  "ends_at": start + timedelta(hours=1), "place": "Iron Works Gym, 5 Elm St",
                  "cost": Decimal("150.00"), "owner": users["outreach"]}
        values.update(fields)
        return event_save(by=users["outreach"], **values)

    return make


@pytest.fixture
def gym(make_partner):
    return make_partner(name="Iron Works Gym", kind="local_business", category="gym_trainer",
                        email="front@ironworks.example")


@pytest.fixture
def smtp_server(settings):
    server = LoopbackSmtp().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield server
    finally:
        server.stop()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
