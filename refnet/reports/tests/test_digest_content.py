"""What a digest says, checked against hand-counted figures on small fixed data, and what
it must never say (patient names)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from refnet.followups.models import FollowUp
from refnet.outbox.models import OutboxMessage
from refnet.reports.digest import (
    Period,
    digest_build,
    digest_html,
    digest_text,
    digests_tick,
)
from refnet.reports.models import DigestSubscription

NY = ZoneInfo("America/New_York")
WEEK = Period("weekly", date(2026, 3, 2), date(2026, 3, 8))
NOW = datetime(2026, 3, 9, 7, 30, tzinfo=NY)
PATIENT_NAMES = ("Zelda", "Quux", "Yorick", "Vexley", "Paula", "Patientson")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def followup(key, kind, partner, summary, due, assignee=None, status="open", referral=None):
    return FollowUp.objects.create(key=key, kind=kind, partner=partner, summary=summary,
                                   due_at=due, original_due_at=due, assignee=assignee,
                                   status=status, referral=referral)


@pytest.fixture
def network(users, make_partner, make_patient, make_referral):
    """Referrals (received local times) and open follow-ups:

    week Mar 2-8 (this period): Alpha x3 (Mon 00:30, Wed, Sun 23:30), Beta x1
    week Feb 23-Mar 1 (before):  Alpha x2 (one Sun Mar 1 23:59 local, which is Mar 2 in UTC)
    Feb 16-22: Beta x1; Oct 1, 2025: the patient referrer; Jan 10, 2025: Alpha
    Alpha is owned by otto (outreach), Beta by mona (manager)."""
    otto, mona, cora = users["outreach"], users["manager"], users["coordinator"]
    alpha = make_partner(name="Alpha Family Medicine", kind="medical_practice", owner=otto)
    beta = make_partner(name="Beta Fitness", kind="local_business", owner=mona)
    pat = make_patient(first_name="Paula", last_name="Patientson")
    referrer = make_partner(name="Paula Patientson", kind="patient_referrer", owner=otto,
                            patient=pat)
    zelda = make_patient(first_name="Zelda", last_name="Quux")
    yorick = make_patient(first_name="Yorick", last_name="Vexley")
    a1, a2, _ = (make_referral(patient=zelda, source_partner=alpha, received_at=when)
                 for when in (at(2026, 3, 2, 0, 30), at(2026, 3, 4, 12), at(2026, 3, 8, 23, 30)))
    b1 = make_referral(patient=yorick, source_partner=beta, received_at=at(2026, 3, 5, 9))
    make_referral(patient=yorick, source_partner=alpha, received_at=at(2026, 2, 24, 9))
    make_referral(patient=zelda, source_partner=alpha, received_at=at(2026, 3, 1, 23, 59))
    b0 = make_referral(patient=zelda, source_partner=beta, received_at=at(2026, 2, 17, 9))
    p1 = make_referral(patient=yorick, source_partner=referrer,
                       received_at=at(2025, 10, 1, 9))
    make_referral(patient=zelda, source_partner=alpha, received_at=at(2025, 1, 10, 9))
    # Follow-ups (created directly: the digest reads them, whoever made them).
    FollowUp.objects.all().delete()  # the rules may have made some on record
    soon = NOW + timedelta(days=2)
    followup("t1", "thank_referrer", alpha, "Thank Alpha Family Medicine for a referral",
             soon, assignee=cora, referral=a1)
    followup("t2", "thank_referrer", alpha, "Thank Alpha Family Medicine for a referral",
             NOW - timedelta(days=3), assignee=cora, referral=a2)  # overdue
    followup("t3", "thank_referrer", beta, "Thank Beta Fitness for a referral", soon,
             assignee=mona, referral=b1)
    followup("t4", "thank_referrer", beta, "Thank Beta Fitness", soon, status="done",
             referral=b0)
    followup("t5", "thank_referrer", referrer, "Thank Paula Patientson for a referral",
             soon, assignee=otto, referral=p1)
    followup("q1", "reengage", referrer,
             "Re-engage Paula Patientson: no referral in 120 days (usually every 30)",
             NOW - timedelta(days=1), assignee=otto)  # overdue
    followup("q2", "reengage", beta, "Re-engage Beta Fitness: no referral in 90 days", soon,
             assignee=None)
    followup("c1", "check_in", beta, "Check in with Beta Fitness", NOW - timedelta(days=10))
    return {"alpha": alpha, "beta": beta, "referrer": referrer}


def test_manager_digest_figures(users, network):
    digest = digest_build(user=users["manager"], period=WEEK, now=NOW)

    assert digest.practice_wide
    received, referrers = digest.changes
    assert (received.current, received.previous, received.pct_text) == (4, 2, "+100%")
    assert (referrers.current, referrers.previous, referrers.pct_text) == (2, 1, "+100%")
    values = digest.chart.series[0].values
    assert len(values) == len(digest.chart.labels) == 12
    assert digest.chart.labels[-1] == "Mar 2" and digest.chart.labels[-2] == "Feb 23"
    assert values[-3:] == [1, 2, 4] and sum(values) == 7
    assert [(n.name, n.count) for n in digest.to_thank] == [
        ("Alpha Family Medicine", 2), ("Beta Fitness", 1), ("a patient referrer", 1)]
    assert [n.detail for n in digest.quiet] == [
        "Re-engage a patient referrer: no referral in 120 days (usually every 30)",
        "Re-engage Beta Fitness: no referral in 90 days"]
    assert [(n.name, n.count) for n in digest.overdue] == [
        ("Cora", 1), ("Otto", 1), ("Unassigned", 1)]
    assert digest.overdue_total == 3


def test_owner_digest_covers_their_partners_only(users, network):
    digest = digest_build(user=users["outreach"], period=WEEK, now=NOW)

    assert not digest.practice_wide
    received, referrers = digest.changes
    assert (received.current, received.previous, received.pct_text) == (3, 2, "+50%")
    assert (referrers.current, referrers.previous, referrers.pct_text) == (1, 1, "no change")
    assert digest.chart.series[0].values[-3:] == [0, 2, 3]
    # Alpha and the patient referrer are otto's; Beta's follow-ups are not.
    assert [(n.name, n.count) for n in digest.to_thank] == [
        ("Alpha Family Medicine", 2), ("a patient referrer", 1)]
    assert [n.detail for n in digest.quiet] == [
        "Re-engage a patient referrer: no referral in 120 days (usually every 30)"]
    assert [(n.name, n.count) for n in digest.overdue] == [("Cora", 1), ("Otto", 1)]


def test_an_empty_period_says_so(users, db):
    digest = digest_build(user=users["manager"], period=WEEK, now=NOW)
    received = digest.changes[0]
    assert (received.current, received.previous, received.pct, received.pct_text) == \
        (0, 0, None, "no change")
    text = digest_text(digest)
    assert "Nobody is waiting for a thank-you." in text
    assert "No partner went quiet." in text and "Nothing is overdue." in text
    assert sum(digest.chart.series[0].values) == 0


def test_monthly_digest_figures(users, network):
    from refnet.reports.rollup import rollup_rebuild

    rollup_rebuild()  # the triggers keep it; a rebuild makes the test independent of them
    month = Period("monthly", date(2026, 2, 1), date(2026, 2, 28))
    digest = digest_build(user=users["manager"], period=month, now=NOW)
    received = digest.changes[0]
    # February: Feb 17 (Beta), Feb 24 (Alpha) and Mar 1 23:59 local (Alpha) is March.
    assert (received.current, received.previous) == (2, 0)
    assert digest.chart.labels[-1] == "Feb" and len(digest.chart.labels) == 12
    assert digest.chart.series[0].values[-1] == 2
    # October 2025 (the patient referrer); Jan 2025 is outside the 12 months.
    assert digest.chart.series[0].values[-5:] == [1, 0, 0, 0, 2]
    assert sum(digest.chart.series[0].values) == 3


def test_no_patient_name_in_the_queued_email(users, network):
    mona = users["manager"]
    mona.email = "mona@practice.example"
    mona.save()
    DigestSubscription.objects.create(user=mona, frequency="weekly",
                                      last_period_end=date(2026, 3, 1))
    with time_machine.travel(NOW, tick=False):
        assert digests_tick() == {"digests": 1}
    message = OutboxMessage.objects.get()
    for name in PATIENT_NAMES:
        assert name not in message.subject
        assert name not in message.body_text
        assert name not in message.body_html
    assert "Alpha Family Medicine" in message.body_text
    assert "Referrals received: 4 (before: 2, +100%)" in message.body_text
    assert "Alpha Family Medicine" in message.body_html
    assert message.body_html.lstrip().startswith("<!DOCTYPE html>")


def test_html_and_text_carry_the_same_lists(users, network):
    digest = digest_build(user=users["manager"], period=WEEK, now=NOW)
    html, text = digest_html(digest), digest_text(digest)
    for fragment in ("Beta Fitness", "Re-engage a patient referrer", "Unassigned",
                     "/reports/digest/"):
        assert fragment in html and fragment in text
