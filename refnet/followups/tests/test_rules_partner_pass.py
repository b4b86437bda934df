"""The daily partner pass: check-ins by cadence, gone quiet against the partner's own
baseline (interval and 90-day drop), never for partners with no history, nothing for
merged or do-not-contact partners."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind
from refnet.followups.rules import rules_full_pass
from refnet.partners.services import partner_merge

TZ = timezone.get_default_timezone()
NOW = timezone.make_aware(datetime(2026, 11, 23, 9, 0), TZ)  # a Monday


def at_days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def referrals_from(make_referral, make_patient):
    """referrals_from(partner, [days ago, ...]): referrals recorded on those days."""
    def make(partner, days_ago):
        patient = make_patient()
        for days in days_ago:
            with time_machine.travel(at_days_ago(days), tick=False):
                make_referral(source_partner=partner, patient=patient)
    return make


def full_pass_at(moment: datetime) -> dict:
    with time_machine.travel(moment, tick=False):
        return rules_full_pass()


def reengage_for(partner):
    return FollowUp.objects.filter(partner=partner, kind=RuleKind.REENGAGE)


def test_check_in_by_cadence_once_while_open_then_next_after_done(make_partner):
    with time_machine.travel(NOW, tick=False):
        partner = make_partner(name="Cadence Clinic", kind="medical_practice", stage="active",
                               cadence_days=30)
        prospect = make_partner(name="Just A Prospect", stage="prospect", cadence_days=30)
    full_pass_at(NOW + timedelta(days=20))  # due in 10 days: not yet in the inbox
    assert not FollowUp.objects.filter(kind=RuleKind.CHECK_IN).exists()
    full_pass_at(NOW + timedelta(days=24))  # due in 6 days
    check_in = FollowUp.objects.get(partner=partner, kind=RuleKind.CHECK_IN)
    due_day = (NOW + timedelta(days=30)).date()  # Wednesday Dec 23
    assert check_in.key == f"check_in:p{partner.pk}:{due_day.isoformat()}"
    assert check_in.due_at == timezone.make_aware(datetime.combine(due_day, time(17)), TZ)
    assert "every 30 days" in check_in.summary
    full_pass_at(NOW + timedelta(days=40))  # still open: no second one
    assert FollowUp.objects.filter(partner=partner, kind=RuleKind.CHECK_IN).count() == 1
    assert not FollowUp.objects.filter(partner=prospect).exists()

    done_at = NOW + timedelta(days=41)
    check_in.status, check_in.completed_at = FollowUpStatus.DONE, done_at
    check_in.save()
    full_pass_at(NOW + timedelta(days=50))  # next due day 71: not yet
    assert FollowUp.objects.filter(partner=partner, kind=RuleKind.CHECK_IN).count() == 1
    full_pass_at(NOW + timedelta(days=66))
    nxt = FollowUp.objects.get(partner=partner, kind=RuleKind.CHECK_IN, status="open")
    assert nxt.key == f"check_in:p{partner.pk}:{(NOW + timedelta(days=71)).date().isoformat()}"


def test_a_check_in_is_never_born_overdue(make_partner, make_referral, users):
    """Turning the rule on over an old directory: partners nobody ever touched get their
    first check-in spread over one cadence; a touched partner whose cadence ran out long
    ago is due today, not "300 days overdue"."""
    long_ago = NOW - timedelta(days=400)
    with time_machine.travel(long_ago, tick=False):
        untouched = [make_partner(name=f"Old Friend {i}", kind="medical_practice",
                                  stage="active", cadence_days=30) for i in range(30)]
        touched = make_partner(name="Called Once", kind="medical_practice", stage="active",
                               cadence_days=30)
    FollowUp.objects.create(  # a thank-you call, done 300 days ago, is a touch
        key="thank:manual", kind=RuleKind.THANK_REFERRER, status=FollowUpStatus.DONE,
        partner=touched, due_at=NOW, original_due_at=NOW, summary="Thank",
        completed_at=NOW - timedelta(days=300))
    full_pass_at(NOW)
    today = timezone.localdate(NOW)
    check_ins = FollowUp.objects.filter(kind=RuleKind.CHECK_IN, status="open")
    assert all(f.due_at.astimezone(TZ).date() >= today for f in check_ins)
    assert check_ins.get(partner=touched).due_at.astimezone(TZ).date() == today
    first = check_ins.filter(partner__in=untouched)
    # Spread: only those whose turn falls within the coming week are in the inbox now.
    assert 0 < first.count() < len(untouched) // 2
    days = [NOW + timedelta(days=d) for d in range(1, 30)]
    for day in days:  # the worker's daily passes over the next cadence period
        full_pass_at(day)
    spread = FollowUp.objects.filter(kind=RuleKind.CHECK_IN, partner__in=untouched)
    assert spread.count() == len(untouched)  # everyone's turn came, once
    per_day = {f.due_at.astimezone(TZ).date() for f in spread}
    assert len(per_day) >= 15  # spread over the month, not piled on one day


def test_quiet_by_twice_the_usual_interval(make_partner, referrals_from):
    quiet = make_partner(name="Went Quiet, MD")
    steady = make_partner(name="Still Steady, MD")
    referrals_from(quiet, [95, 85, 75, 65, 55, 45])  # every 10 days, silent for 45
    referrals_from(steady, [60, 50, 40, 30, 20, 10])  # every 10 days, last 10 days ago
    full_pass_at(NOW)
    followup = reengage_for(quiet).get()
    assert followup.key == f"reengage:p{quiet.pk}:2026-11"
    assert "no referral for 45 days" in followup.summary
    assert "usually one every 10 days" in followup.summary
    assert not reengage_for(steady).exists()
    full_pass_at(NOW + timedelta(hours=1))
    assert reengage_for(quiet).count() == 1


def test_quiet_by_a_drop_in_the_last_90_days(make_partner, referrals_from):
    dropped = make_partner(name="Dropped Off, MD")
    steady = make_partner(name="Holding Up, MD")
    # 8 in the 90 days before, 4 in the last 90 (half): quiet; the last one is recent.
    referrals_from(dropped, [175, 165, 155, 145, 135, 125, 115, 100, 80, 50, 20, 5])
    # 8 then 5: not half, not quiet.
    referrals_from(steady, [175, 165, 155, 145, 135, 125, 115, 100, 80, 60, 40, 20, 5])
    full_pass_at(NOW)
    followup = reengage_for(dropped).get()
    assert "4 referrals in the last 90 days, down from 8" in followup.summary
    assert not reengage_for(steady).exists()


def test_no_history_is_never_quiet(make_partner, referrals_from):
    with time_machine.travel(NOW - timedelta(days=400), tick=False):
        never = make_partner(name="Never Referred, MD", stage="active", cadence_days=1000)
    few = make_partner(name="Only Twice, MD")
    referrals_from(few, [300, 200])
    full_pass_at(NOW)
    assert not reengage_for(never).exists()
    assert not reengage_for(few).exists()


def test_merged_and_do_not_contact_partners_are_not_reengaged(
        make_partner, referrals_from, users):
    survivor = make_partner(name="Survivor Clinic", kind="medical_practice")
    duplicate = make_partner(name="Survivor Clinic Dup", kind="medical_practice")
    blocked = make_partner(name="Blocked, MD", do_not_contact=True)
    referrals_from(duplicate, [95, 85, 75])
    referrals_from(blocked, [95, 85, 75, 65])
    FollowUp.objects.all().delete()
    partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])
    full_pass_at(NOW)
    assert not reengage_for(duplicate).exists()
    assert not reengage_for(blocked).exists()
    assert reengage_for(survivor).exists()  # its referrals are the survivor's now


def test_partner_level_assignee_is_latest_referral_location(
        make_partner, referrals_from, location, other_location, users):
    other_location.default_assignee = users["coordinator"]
    other_location.save()
    partner = make_partner(name="Far Away, MD")
    referrals_from(partner, [95, 85])
    with time_machine.travel(at_days_ago(75), tick=False):
        from refnet.referrals.models import Patient
        from refnet.referrals.services import referral_record

        referral_record(patient=Patient.objects.first(), source_partner=partner,
                        location=other_location, by=None)
    full_pass_at(NOW)
    followup = reengage_for(partner).get()
    assert followup.location == other_location
    assert followup.assignee == users["coordinator"]


def test_merge_moves_followups_and_skips_a_clashing_open_check_in(make_partner, users):
    with time_machine.travel(NOW - timedelta(days=30), tick=False):
        survivor = make_partner(name="Keep Me Clinic", kind="medical_practice",
                                stage="active", cadence_days=30)
        duplicate = make_partner(name="Keep Me Clinic (dup)", kind="medical_practice",
                                 stage="active", cadence_days=30)
    full_pass_at(NOW)
    assert FollowUp.objects.filter(kind=RuleKind.CHECK_IN).count() == 2
    partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])
    moved = FollowUp.objects.filter(partner=survivor, kind=RuleKind.CHECK_IN)
    assert moved.count() == 2
    assert moved.filter(status=FollowUpStatus.OPEN).count() == 1
    skipped = moved.get(status=FollowUpStatus.SKIPPED)
    assert skipped.skip_reason == "merged into Keep Me Clinic"
    assert not FollowUp.objects.filter(partner=duplicate).exists()
