"""The referral rules, run by the referral services' hooks: thank-you, ask again, outcome
update, progress reports; due times in business days at 17:00 practice time."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from refnet.followups.models import (
    DoneHow,
    FollowUp,
    FollowUpRule,
    FollowUpStatus,
    PartnerRuleOverride,
    RuleKind,
    RuleMode,
)
from refnet.followups.rules import add_business_days, effective_rule, rules_full_pass
from refnet.outbox.models import OutboxMessage
from refnet.referrals.services import (
    referral_record,
    referral_resolve_source,
    referral_transition,
    visit_record,
)

TZ = timezone.get_default_timezone()


def local(day: str, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(datetime.fromisoformat(day).date(),
                                                time(hour)), TZ)


MONDAY, FRIDAY = "2026-11-23", "2026-11-20"


def test_business_days_skip_the_weekend():
    d = datetime.fromisoformat
    assert add_business_days(d("2026-11-20").date(), 2) == d("2026-11-24").date()  # Fri->Tue
    assert add_business_days(d("2026-11-21").date(), 2) == d("2026-11-24").date()  # Sat->Tue
    assert add_business_days(d("2026-11-23").date(), 2) == d("2026-11-25").date()  # Mon->Wed
    assert add_business_days(d("2026-11-22").date(), 0) == d("2026-11-23").date()  # Sun->Mon


def test_thank_you_due_in_two_business_days_at_five_pm_for_the_owner(
        make_referral, make_partner, make_patient, users):
    partner = make_partner(name="Ruth Okafor, MD", owner=users["coordinator"])
    with time_machine.travel(local(MONDAY), tick=False):
        referral = make_referral(source_partner=partner,
                                 patient=make_patient(first_name="Zelda", last_name="Quux"))
    followup = FollowUp.objects.get(key=f"thank:r{referral.pk}")
    assert followup.kind == RuleKind.THANK_REFERRER
    assert followup.status == FollowUpStatus.OPEN
    assert followup.due_at == local("2026-11-25", 17)
    assert followup.original_due_at == followup.due_at
    assert followup.assignee == users["coordinator"]
    assert followup.partner == partner and followup.referral == referral
    assert followup.location == referral.location
    assert followup.summary == "Thank Ruth Okafor, MD for a referral received Nov 23"
    assert "Zelda" not in followup.summary and "Quux" not in followup.summary


def test_friday_referral_is_due_tuesday(make_referral):
    with time_machine.travel(local(FRIDAY, 16), tick=False):
        referral = make_referral()
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").due_at == local("2026-11-24", 17)


def test_late_evening_referral_counts_by_local_date(make_referral):
    # 22:30 in New York on Friday is already Saturday in UTC: still a Friday referral.
    with time_machine.travel(local(FRIDAY, 22), tick=False):
        referral = make_referral()
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").due_at == local("2026-11-24", 17)


def test_assignee_falls_back_to_location_then_first_active_location(
        make_referral, make_partner, location, other_location, users):
    gym = make_partner(name="Peak Gym", kind="local_business", category="gym_trainer")
    referral = make_referral(source_partner=gym)
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").assignee is None  # nobody set
    other_location.default_assignee = users["manager"]
    other_location.save()
    referral = make_referral(source_partner=make_partner(name="Ann Lee, DO"))
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").assignee == users["manager"]
    location.default_assignee = users["coordinator"]
    location.save()
    referral = make_referral(source_partner=make_partner(name="Bo Chen, PA"))
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").assignee == users["coordinator"]


def test_a_clinical_thank_you_goes_to_someone_who_may_see_the_patient(
        make_referral, make_partner, location, users):
    """The thank-you to a clinician names the patient; an outreach owner could not open it,
    so it goes to the location's default assignee, else a coordinator."""
    clinician = make_partner(name="Ruth Okafor, MD", owner=users["outreach"])
    referral = make_referral(source_partner=clinician)
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").assignee == users["coordinator"]
    location.default_assignee = users["front_desk"]
    location.save()
    referral = make_referral(source_partner=clinician)
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").assignee == users["front_desk"]
    # A gym's thank-you names nobody: it stays with the outreach owner.
    gym = make_partner(name="Peak Gym", kind="local_business", category="gym_trainer",
                       owner=users["outreach"])
    referral = make_referral(source_partner=gym)
    assert FollowUp.objects.get(key=f"thank:r{referral.pk}").assignee == users["outreach"]


def test_unknown_source_asks_again_then_resolving_closes_it_and_thanks(
        make_patient, make_partner, location, users):
    location.default_assignee = users["front_desk"]
    location.save()
    with time_machine.travel(local(FRIDAY), tick=False):
        referral = referral_record(patient=make_patient(), source_unknown=True,
                                   location=location, by=users["front_desk"])
    ask = FollowUp.objects.get(key=f"ask_source:r{referral.pk}")
    assert ask.assignee == users["front_desk"]
    assert ask.due_at == local("2026-11-23", 17)  # one business day after Friday
    assert not FollowUp.objects.filter(kind=RuleKind.THANK_REFERRER).exists()

    partner = make_partner(name="Gym Rats Fitness", kind="local_business")
    with time_machine.travel(local(MONDAY), tick=False):
        referral_resolve_source(referral=referral, partner=partner, by=users["coordinator"])
    ask.refresh_from_db()
    assert ask.status == FollowUpStatus.DONE
    assert "Gym Rats Fitness" in ask.note and ask.completed_by == users["coordinator"]
    thank = FollowUp.objects.get(key=f"thank:r{referral.pk}")
    assert thank.due_at == local("2026-11-25", 17)  # from the day the source was known
    assert thank.partner == partner


def _see(referral, by, day=MONDAY):
    with time_machine.travel(local(day, 11), tick=False):
        if referral.status != "scheduled":
            referral_transition(referral=referral, to_status="scheduled", by=by)
        return referral_transition(referral=referral, to_status="seen", by=by)


def test_outcome_update_on_seen_for_clinicians_only(make_referral, make_partner, users):
    clinician = make_referral(source_partner=make_partner(kind="clinician"))
    business = make_referral(source_partner=make_partner(name="Corner Yoga",
                                                         kind="local_business"))
    # Whatever the settings say, a non-clinical partner never gets clinical updates.
    FollowUpRule.objects.create(kind=RuleKind.OUTCOME_UPDATE, partner_kind="local_business")
    with time_machine.travel(local(MONDAY, 9), tick=False):
        clinician = referral_transition(referral=clinician, to_status="scheduled", by=None)
        assert not FollowUp.objects.filter(kind=RuleKind.OUTCOME_UPDATE).exists()
    _see(clinician, users["coordinator"])
    _see(business, users["coordinator"])
    outcome = FollowUp.objects.get(kind=RuleKind.OUTCOME_UPDATE)
    assert outcome.key == f"outcome:r{clinician.pk}"
    assert outcome.due_at == local("2026-11-25", 17)
    assert "outcome" in outcome.summary and "seen Nov 23" in outcome.summary


def test_do_not_contact_partner_gets_nothing_and_open_ones_are_skipped(
        make_referral, make_partner):
    blocked = make_partner(name="Never Call, MD", do_not_contact=True)
    referral = make_referral(source_partner=blocked)
    assert not FollowUp.objects.filter(referral=referral).exists()

    partner = make_partner(name="Later Blocked, MD")
    make_referral(source_partner=partner)
    open_one = FollowUp.objects.get(partner=partner)
    partner.do_not_contact = True
    partner.save()
    rules_full_pass()
    open_one.refresh_from_db()
    assert open_one.status == FollowUpStatus.SKIPPED
    assert "do-not-contact" in open_one.skip_reason


def test_override_off_and_other_days(make_referral, make_partner):
    off = make_partner(name="Off Partner, MD")
    PartnerRuleOverride.objects.create(partner=off, kind=RuleKind.THANK_REFERRER, enabled=False)
    slow = make_partner(name="Slow Partner, MD")
    PartnerRuleOverride.objects.create(partner=slow, kind=RuleKind.THANK_REFERRER, due_days=5)
    assert effective_rule(kind=RuleKind.THANK_REFERRER, partner=off) is None
    with time_machine.travel(local(MONDAY), tick=False):
        make_referral(source_partner=off)
        referral = make_referral(source_partner=slow)
    assert not FollowUp.objects.filter(partner=off).exists()
    assert FollowUp.objects.get(partner=slow).due_at == local("2026-11-30", 17)
    assert FollowUp.objects.get(partner=slow).key == f"thank:r{referral.pk}"


def test_partner_kind_rule_over_default_rule(db):
    FollowUpRule.objects.filter(kind=RuleKind.THANK_REFERRER, partner_kind="").update(due_days=3)
    FollowUpRule.objects.create(kind=RuleKind.THANK_REFERRER, partner_kind="local_business",
                                due_days=7)
    from refnet.followups.rules.resolve import PartnerFacts

    gym = PartnerFacts(id=1, kind="local_business", name="Gym")
    doc = PartnerFacts(id=2, kind="clinician", name="Doc")
    assert effective_rule(kind=RuleKind.THANK_REFERRER, partner=gym).due_days == 7
    assert effective_rule(kind=RuleKind.THANK_REFERRER, partner=doc).due_days == 3
    assert effective_rule(kind=RuleKind.PROGRESS_REPORT, partner=doc) is None  # off by default
    assert effective_rule(kind=RuleKind.OUTCOME_UPDATE, partner=gym) is None


def test_auto_mode_queues_the_message_and_records_it_done(make_referral, make_partner, users):
    partner = make_partner(name="Auto Send, MD", email="auto.send@example.org")
    PartnerRuleOverride.objects.create(partner=partner, kind=RuleKind.THANK_REFERRER,
                                       mode=RuleMode.AUTO)
    referral = make_referral(source_partner=partner, by=users["front_desk"])
    followup = FollowUp.objects.get(key=f"thank:r{referral.pk}")
    assert followup.status == FollowUpStatus.DONE
    assert followup.done_how == DoneHow.AUTO_SENT
    message = OutboxMessage.objects.get(dedupe_key=f"auto:thank:r{referral.pk}")
    assert followup.message == message
    assert message.to_address == "auto.send@example.org"


def test_auto_mode_without_an_address_falls_back_to_a_reminder(make_referral, make_partner):
    partner = make_partner(name="No Email, MD", preferred_channel="email")
    PartnerRuleOverride.objects.create(partner=partner, kind=RuleKind.THANK_REFERRER,
                                       mode=RuleMode.AUTO)
    referral = make_referral(source_partner=partner)
    followup = FollowUp.objects.get(key=f"thank:r{referral.pk}")
    assert followup.status == FollowUpStatus.OPEN
    assert "not sent automatically" in followup.summary
    assert not OutboxMessage.objects.exists()


@pytest.fixture
def progress_rule(db):
    FollowUpRule.objects.filter(kind=RuleKind.PROGRESS_REPORT, partner_kind="").update(
        enabled=True, progress_every_visits=3, progress_at_discharge=True,
        progress_after_evaluation=True)


def test_progress_after_evaluation_every_n_visits_and_at_discharge(
        progress_rule, make_referral, make_partner, users):
    referral = make_referral(source_partner=make_partner())
    referral = _see(referral, users["coordinator"])
    assert FollowUp.objects.filter(key=f"progress:r{referral.pk}:eval").exists()
    for day in ("2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-30"):
        with time_machine.travel(local(day, 12), tick=False):
            visit_record(referral=referral, at=timezone.now(), kind="treatment",
                         by=users["coordinator"])
    with time_machine.travel(local("2026-12-01", 12), tick=False):
        visit_record(referral=referral, at=timezone.now(), kind="discharge", by=None)
    keys = set(FollowUp.objects.filter(kind=RuleKind.PROGRESS_REPORT)
               .values_list("key", flat=True))
    r = referral.pk
    assert keys == {f"progress:r{r}:eval", f"progress:r{r}:v3", f"progress:r{r}:discharge"}
    discharge = FollowUp.objects.get(key=f"progress:r{r}:discharge")
    assert discharge.due_at == local("2026-12-03", 17)


def test_no_progress_reports_for_non_clinical_partners(progress_rule, make_referral,
                                                       make_partner, users):
    referral = make_referral(source_partner=make_partner(name="Yoga Barn",
                                                         kind="local_business"))
    referral = _see(referral, users["coordinator"])
    with time_machine.travel(local("2026-11-24", 12), tick=False):
        visit_record(referral=referral, at=timezone.now(), kind="discharge", by=None)
    assert not FollowUp.objects.filter(kind=RuleKind.PROGRESS_REPORT).exists()


def test_visit_refused_before_the_patient_was_seen(make_referral):
    from django.core.exceptions import ValidationError

    referral = make_referral()
    with pytest.raises(ValidationError) as caught:
        visit_record(referral=referral, at=timezone.now(), kind="treatment", by=None)
    assert "status" in caught.value.message_dict


def test_progress_every_n_days_while_under_care(make_referral, make_partner, users):
    FollowUpRule.objects.filter(kind=RuleKind.PROGRESS_REPORT, partner_kind="").update(
        enabled=True, progress_every_days=14, progress_every_visits=None,
        progress_after_evaluation=False, progress_at_discharge=False)
    referral = _see(make_referral(source_partner=make_partner()), users["coordinator"])
    seen_day = timezone.localdate(referral.status_changed_at)

    def keys_after(days: int) -> set[str]:
        moment = local((seen_day + timedelta(days=days)).isoformat(), 9)
        with time_machine.travel(moment, tick=False):
            rules_full_pass()
        return set(FollowUp.objects.filter(kind=RuleKind.PROGRESS_REPORT)
                   .values_list("key", flat=True))

    assert keys_after(10) == set()  # the first period has not ended
    first = f"progress:r{referral.pk}:d{(seen_day + timedelta(days=14)).isoformat()}"
    assert keys_after(14) == {first}
    assert keys_after(20) == {first}  # same period: nothing new
    second = f"progress:r{referral.pk}:d{(seen_day + timedelta(days=28)).isoformat()}"
    assert keys_after(29) == {first, second}
    with time_machine.travel(local((seen_day + timedelta(days=30)).isoformat(), 12),
                             tick=False):
        visit_record(referral=referral, at=timezone.now(), kind="discharge", by=None)
    assert keys_after(43) == {first, second}  # discharged: no more reports


def test_marketing_channels_get_no_thank_you(make_referral, make_partner):
    google = make_partner(name="Google search", kind="marketing_channel")
    referral = make_referral(source_partner=google)
    assert not FollowUp.objects.filter(key=f"thank:r{referral.pk}").exists()
