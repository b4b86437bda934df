"""The demo subscribes its manager and outreach user to the weekly digest; their first
digests, on the demo's real data, name no patient."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from refnet.outbox.models import OutboxMessage
from refnet.partners.models import Partner, PartnerKind
from refnet.referrals.models import Patient
from refnet.reports.digest import SEND_HOUR, digests_tick, local_at
from refnet.reports.models import DigestSubscription


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        call_command("demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


def test_demo_digests_are_weekly_and_name_no_patient(demo, db):
    subs = DigestSubscription.objects.select_related("user").order_by("user__username")
    assert [(s.user.username, s.frequency, s.is_active) for s in subs] == [
        ("manager", "weekly", True), ("outreach", "weekly", True)]
    assert digests_tick() == {"digests": 0}  # nothing before next Monday

    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    assert digests_tick(now=local_at(monday, SEND_HOUR)) == {"digests": 2}
    messages = list(OutboxMessage.objects.filter(purpose="digest"))
    assert {m.to_address for m in messages} == {"manager@demo.example.com",
                                                "outreach@demo.example.com"}
    other_partner_names = " ".join(Partner.objects.exclude(kind=PartnerKind.PATIENT_REFERRER)
                                   .values_list("name", flat=True))
    names = {f"{first} {last}" for first, last in
             Patient.objects.values_list("first_name", "last_name")}
    # A patient who shares a name with a clinician or business cannot be told apart.
    names = {n for n in names if n not in other_partner_names}
    assert len(names) > 1000
    for message in messages:
        assert "Referrals received" in message.body_text
        for name in names:
            assert name not in message.body_text and name not in message.body_html, name
