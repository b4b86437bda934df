"""When digests go out: weekly on Monday 07:00 practice time for the previous Monday to
Sunday, monthly on the 1st at 07:00 for the previous month; once per period."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from refnet.outbox.models import OutboxMessage
from refnet.reports.digest import (
    digest_subscription_set,
    digests_tick,
    period_due,
    period_next,
)
from refnet.reports.models import DigestSubscription

NY = ZoneInfo("America/New_York")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def mona(users):
    user = users["manager"]
    user.email = "mona@practice.example"
    user.save()
    return user


def test_weekly_period_due_turns_over_at_monday_seven_local():
    # Monday March 9, 2026 (after the DST change on March 8).
    assert period_due("weekly", at(2026, 3, 9, 6, 59)).end == date(2026, 3, 1)
    due = period_due("weekly", at(2026, 3, 9, 7, 0))
    assert (due.start, due.end) == (date(2026, 3, 2), date(2026, 3, 8))
    assert period_due("weekly", at(2026, 3, 15, 23, 0)).end == date(2026, 3, 8)
    assert period_next("weekly", at(2026, 3, 11, 12, 0)).end == date(2026, 3, 15)


def test_monthly_period_due_turns_over_on_the_first_at_seven_local():
    assert period_due("monthly", at(2026, 3, 1, 6, 59)).end == date(2026, 1, 31)
    due = period_due("monthly", at(2026, 3, 1, 7, 0))
    assert (due.start, due.end) == (date(2026, 2, 1), date(2026, 2, 28))
    # 07:00 local is 12:00 UTC in winter: a UTC clock would say another time.
    assert period_due("monthly", datetime(2026, 1, 1, 11, 59, tzinfo=ZoneInfo("UTC"))).end \
        == date(2025, 11, 30)
    assert period_due("monthly", datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo("UTC"))).end \
        == date(2025, 12, 31)


def test_weekly_digest_sent_once_on_monday_morning(mona):
    with time_machine.travel(at(2026, 3, 4, 10, 0), tick=False):  # a Wednesday
        digest_subscription_set(user=mona, frequency="weekly")
        # Subscribing mid-week does not send last week's digest at once.
        assert digests_tick() == {"digests": 0}
    with time_machine.travel(at(2026, 3, 9, 6, 59), tick=False):
        assert digests_tick() == {"digests": 0}
    with time_machine.travel(at(2026, 3, 9, 7, 0), tick=False):
        assert digests_tick() == {"digests": 1}
        assert digests_tick() == {"digests": 0}  # not twice
    with time_machine.travel(at(2026, 3, 12, 7, 0), tick=False):
        assert digests_tick() == {"digests": 0}
    message = OutboxMessage.objects.get()
    assert message.dedupe_key == f"digest:{mona.pk}:2026-03-08"
    assert (message.channel, message.purpose, message.audience) == ("email", "digest", "staff")
    assert message.partner is None and not message.names_patient
    assert message.to_address == "mona@practice.example"
    assert "Mar 2 to Mar 8, 2026" in message.subject
    assert DigestSubscription.objects.get(user=mona).last_period_end == date(2026, 3, 8)
    with time_machine.travel(at(2026, 3, 16, 7, 5), tick=False):
        assert digests_tick() == {"digests": 1}
    assert OutboxMessage.objects.count() == 2


def test_monthly_digest_on_the_first(mona):
    with time_machine.travel(at(2026, 2, 10, 9, 0), tick=False):
        digest_subscription_set(user=mona, frequency="monthly")
    with time_machine.travel(at(2026, 3, 1, 6, 0), tick=False):
        assert digests_tick() == {"digests": 0}
    with time_machine.travel(at(2026, 3, 1, 7, 0), tick=False):
        assert digests_tick() == {"digests": 1}
        assert digests_tick() == {"digests": 0}
    message = OutboxMessage.objects.get()
    assert message.dedupe_key == f"digest:{mona.pk}:2026-02-28"
    assert "February 2026" in message.subject


def test_a_worker_down_for_weeks_sends_only_the_latest_period(mona):
    DigestSubscription.objects.create(user=mona, frequency="weekly",
                                      last_period_end=date(2026, 2, 1))
    with time_machine.travel(at(2026, 3, 10, 9, 0), tick=False):
        assert digests_tick() == {"digests": 1}
        assert digests_tick() == {"digests": 0}
    assert OutboxMessage.objects.get().dedupe_key.endswith(":2026-03-08")


def test_no_digest_without_email_inactive_or_off(users, mona):
    cora = users["coordinator"]  # no email address
    DigestSubscription.objects.create(user=cora, frequency="weekly")
    DigestSubscription.objects.create(user=users["outreach"], frequency="weekly",
                                      is_active=False)
    users["outreach"].email = "otto@practice.example"
    users["outreach"].save()
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        digest_subscription_set(user=mona, frequency="weekly")
        digest_subscription_set(user=mona, frequency="off")
    with time_machine.travel(at(2026, 3, 9, 8, 0), tick=False):
        assert digests_tick() == {"digests": 0}
    assert not OutboxMessage.objects.exists()


def test_idle_tick_is_one_query(mona, django_assert_num_queries):
    with time_machine.travel(at(2026, 3, 9, 8, 0), tick=False):
        digest_subscription_set(user=mona, frequency="weekly")
        with django_assert_num_queries(1):
            assert digests_tick() == {"digests": 0}


def test_an_opted_out_address_is_skipped_not_retried_every_tick(mona):
    from refnet.outbox.services import suppression_add

    suppression_add(channel="email", address=mona.email, reason="manual")
    DigestSubscription.objects.create(user=mona, frequency="weekly")
    with time_machine.travel(at(2026, 3, 9, 8, 0), tick=False):
        assert digests_tick() == {"digests": 0}
    assert not OutboxMessage.objects.exists()
    assert DigestSubscription.objects.get(user=mona).last_period_end == date(2026, 3, 8)


def test_unknown_frequency_names_the_field(mona):
    with pytest.raises(ValidationError) as exc:
        digest_subscription_set(user=mona, frequency="daily")
    assert "frequency" in exc.value.message_dict
