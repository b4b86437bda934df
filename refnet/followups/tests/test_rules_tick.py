"""rules_tick: the incremental pass picks up rows that arrived without the service hooks
(imports, bulk loads), never doubles, runs the partner pass once a day, and an idle tick
is a few queries."""

from datetime import datetime, timedelta

import time_machine
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpRule, RuleCursor, RuleKind
from refnet.followups.rules import rules_full_pass, rules_tick
from refnet.referrals.models import Referral, ReferralEvent, Visit

TZ = timezone.get_default_timezone()
NOW = timezone.make_aware(datetime(2026, 11, 23, 9, 0), TZ)


def bulk_referral(patient, partner, location, *, at, status="received", unresolved=False):
    """A referral and its timeline written straight to the tables, as an import would."""
    referral = Referral.objects.create(
        patient=patient, source_partner=None if unresolved else partner, location=location,
        source_status="unresolved" if unresolved else "known", received_at=at,
        status=status, status_changed_at=at)
    events = [ReferralEvent(referral=referral, at=at, to_status="received")]
    if status != "received":
        events.append(ReferralEvent(referral=referral, at=at + timedelta(hours=1),
                                    from_status="received", to_status=status))
    ReferralEvent.objects.bulk_create(events)
    return referral


def test_rows_written_without_hooks_get_their_followups(make_patient, make_partner, location):
    patient, partner = make_patient(), make_partner()
    with time_machine.travel(NOW, tick=False):
        rules_tick()  # first run: the cursor starts here
        thanked = bulk_referral(patient, partner, location, at=NOW)
        seen = bulk_referral(patient, partner, location, at=NOW, status="seen")
        unknown = bulk_referral(patient, partner, location, at=NOW, unresolved=True)
        counts = rules_tick()
    keys = set(FollowUp.objects.values_list("key", flat=True))
    assert keys == {f"thank:r{thanked.pk}", f"thank:r{seen.pk}", f"outcome:r{seen.pk}",
                    f"ask_source:r{unknown.pk}"}
    assert counts["created"] == 4 and counts["events"] == 4
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        again = rules_tick()
    assert again.get("created", 0) == 0
    assert FollowUp.objects.count() == 4


def test_visits_written_without_hooks_get_progress_reports(make_referral, make_partner):
    FollowUpRule.objects.filter(kind=RuleKind.PROGRESS_REPORT, partner_kind="").update(
        enabled=True, progress_every_visits=2)
    with time_machine.travel(NOW, tick=False):
        referral = make_referral(source_partner=make_partner())
        rules_tick()
        Visit.objects.bulk_create([Visit(referral=referral, at=NOW, kind="treatment")
                                   for _ in range(4)] + [Visit(referral=referral, at=NOW,
                                                               kind="discharge")])
        rules_tick()
    keys = set(FollowUp.objects.filter(kind=RuleKind.PROGRESS_REPORT)
               .values_list("key", flat=True))
    assert keys == {f"progress:r{referral.pk}:v2", f"progress:r{referral.pk}:v4",
                    f"progress:r{referral.pk}:discharge"}


def test_first_run_reads_only_the_lookback_window(make_patient, make_partner, location,
                                                  settings):
    settings.REFNET_RULES_LOOKBACK_DAYS = 30
    patient, partner = make_patient(), make_partner()
    old = bulk_referral(patient, partner, location, at=NOW - timedelta(days=60))
    recent = bulk_referral(patient, partner, location, at=NOW - timedelta(days=10))
    with time_machine.travel(NOW, tick=False):
        rules_tick()
        assert not FollowUp.objects.filter(referral=old).exists()
        assert FollowUp.objects.filter(referral=recent).exists()
        rules_tick()  # the old rows are behind the cursor now, not news
    assert not FollowUp.objects.filter(referral=old).exists()
    cursor = RuleCursor.objects.get()
    assert cursor.last_event_id == ReferralEvent.objects.order_by("-id").first().pk


def test_idle_tick_is_a_few_queries(make_referral, django_assert_max_num_queries):
    with time_machine.travel(NOW, tick=False):
        make_referral()
        rules_tick()
        with django_assert_max_num_queries(3):
            assert rules_tick() == {}


def test_partner_pass_once_per_local_day(make_partner):
    with time_machine.travel(NOW - timedelta(days=85), tick=False):  # due in 5 days
        make_partner(name="Due Clinic", stage="active", cadence_days=90)
    with time_machine.travel(NOW, tick=False):
        assert rules_tick()["daily_pass"] == 1
        assert FollowUp.objects.filter(kind=RuleKind.CHECK_IN).count() == 1
        assert "daily_pass" not in rules_tick()
    # 23:30 local is the next day in UTC but the same practice day: no second pass.
    with time_machine.travel(NOW.replace(hour=23, minute=30), tick=False):
        assert "daily_pass" not in rules_tick()
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        assert rules_tick()["daily_pass"] == 1


def test_full_pass_twice_creates_nothing_new(make_referral, make_partner):
    with time_machine.travel(NOW - timedelta(days=85), tick=False):  # due in 5 days
        make_partner(name="Due Clinic", stage="active", cadence_days=90)
    with time_machine.travel(NOW - timedelta(days=3), tick=False):
        make_referral()
    FollowUp.objects.all().delete()
    with time_machine.travel(NOW, tick=False):
        first = rules_full_pass()
        second = rules_full_pass()
    assert first["created"] == 2  # the thank-you again, and the check-in
    assert second.get("created", 0) == 0
