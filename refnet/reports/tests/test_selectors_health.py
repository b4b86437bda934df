"""Partner health (trend, gone quiet with its baseline, at risk) and loop health (on time,
late, missing by assignee), on small hand-counted data."""

from datetime import UTC, date, datetime, timedelta

import pytest

from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind
from refnet.reports.selectors import ReportFilter, loop_health, partner_health

JUNE = ReportFilter(start=date(2026, 6, 1), end=date(2026, 6, 30))


def on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 15, 0, tzinfo=UTC)


@pytest.fixture
def partners(make_partner, make_referral):
    falling = make_partner("Falling Clinic")  # 6 before, 1 recent: 5 <= 18 -> at risk
    edge = make_partner("Edge Practice")  # 5 before, 3 recent: 15 <= 15 -> at risk
    steady = make_partner("Steady Doc")  # 4 before, 3 recent: 15 > 12 -> fine
    quiet = make_partner("Quiet Gym", kind="local_business", category="gym_trainer")
    # The 90 days before the last 90: Jan 2 to Apr 1; the last 90: Apr 2 to Jun 30.
    for partner, before, recent in [(falling, 6, [on(6, 5)]),
                                    (edge, 5, [on(4, 10), on(5, 10), on(6, 10)]),
                                    (steady, 4, [on(6, 2), on(6, 3), on(5, 20)])]:
        for i in range(before):
            make_referral(source_partner=partner, received_at=on(2, 1 + i))
        for when in recent:
            make_referral(source_partner=partner, received_at=when)
    make_referral(source_partner=steady, received_at=on(5, 15))  # the previous period (May)
    FollowUp.objects.create(
        key="reengage:quiet", kind=RuleKind.REENGAGE, partner=quiet, due_at=on(6, 20),
        original_due_at=on(6, 20),
        summary="Re-engage Quiet Gym: no referral for 120 days (usually one every 30 days)")
    return {"falling": falling, "edge": edge, "steady": steady, "quiet": quiet}


def test_partner_health(partners, users):
    table = partner_health(JUNE, user=users["manager"])
    by_name = {r["partner"]: r for r in table.rows}
    assert [r["partner"] for r in table.rows][0] == "Quiet Gym"  # gone quiet first
    quiet = by_name["Quiet Gym"]
    assert quiet["status"] == "gone quiet"
    assert "usually one every 30 days" in quiet["why"]
    falling = by_name["Falling Clinic"]
    assert falling["status"] == "at risk"
    assert (falling["current"], falling["previous"], falling["last90"],
            falling["before90"]) == (1, 0, 1, 6)
    assert falling["trend"] == pytest.approx(-5 / 6)
    assert falling["why"] == "1 in the last 90 days, down from 6"
    assert by_name["Edge Practice"]["status"] == "at risk"  # exactly 60%
    steady = by_name["Steady Doc"]
    assert steady["status"] == ""
    assert (steady["current"], steady["previous"], steady["change"]) == (2, 2, 0)
    assert table.totals["status"] == "1 / 2"
    assert f"source={partners['steady'].pk}" in steady["_links"]["current"]


def test_quiet_partner_shows_referrals_only_in_the_previous_period(partners, users,
                                                                    make_referral):
    # Over a year, the previous year lies before both 90-day windows: the quiet partner's
    # two referrals of March 2025 are its only ones.
    for day in (3, 4):
        make_referral(source_partner=partners["quiet"], received_at=datetime(
            2025, 3, day, 15, 0, tzinfo=UTC))
    f = ReportFilter(start=date(2025, 7, 1), end=date(2026, 6, 30))
    by_name = {r["partner"]: r for r in partner_health(f, user=users["manager"]).rows}
    quiet = by_name["Quiet Gym"]
    assert (quiet["current"], quiet["previous"], quiet["change"], quiet["last90"],
            quiet["before90"]) == (0, 2, -2, 0, 0)
    assert by_name["Falling Clinic"]["previous"] == 0


def test_partner_health_filters_by_partner_kind(partners, users):
    f = ReportFilter(start=JUNE.start, end=JUNE.end, partner_kinds=("clinician",))
    names = [r["partner"] for r in partner_health(f, user=users["outreach"]).rows]
    assert "Quiet Gym" not in names and "Falling Clinic" in names


def test_partner_health_empty(db, users):
    table = partner_health(JUNE, user=users["manager"])
    assert table.rows == [] and table.totals["status"] == "0 / 0"


def _followup(key, kind, assignee, due, status=FollowUpStatus.OPEN, completed=None):
    return FollowUp.objects.create(
        key=key, kind=kind, assignee=assignee, due_at=due + timedelta(days=3),
        original_due_at=due, status=status, completed_at=completed, summary="Thank them")


def test_loop_health(db, users):
    cora, mona = users["coordinator"], users["manager"]
    thank, outcome = RuleKind.THANK_REFERRER, RuleKind.OUTCOME_UPDATE
    _followup("t1", thank, cora, on(6, 10), FollowUpStatus.DONE, on(6, 9))  # on time
    _followup("t2", thank, cora, on(6, 10), FollowUpStatus.DONE, on(6, 10))  # on time (at)
    _followup("t3", thank, cora, on(6, 10), FollowUpStatus.DONE, on(6, 12))  # late
    _followup("t4", thank, cora, on(6, 11), FollowUpStatus.SKIPPED)  # missing
    _followup("t5", thank, cora, on(6, 12))  # open past due (snoozed): missing
    _followup("t6", thank, cora, on(7, 5))  # due after the period: not counted
    _followup("o1", outcome, mona, on(6, 29))  # open, not yet due on June 28: pending
    _followup("o2", outcome, mona, on(6, 3), FollowUpStatus.DONE, on(6, 4))  # late
    _followup("c1", RuleKind.CHECK_IN, mona, on(6, 3))  # another kind: not counted
    table = loop_health(JUNE, user=mona, now=on(6, 28))
    rows = {(r["owner"], r["kind"]): r for r in table.rows}
    c = rows[("Cora", "Thank the referrer")]
    assert (c["due"], c["on_time"], c["late"], c["missing"], c["pending"]) == (5, 2, 1, 2, 0)
    assert (c["on_time_rate"], c["late_rate"], c["missing_rate"]) == (0.4, 0.2, 0.4)
    m = rows[("Mona", "Outcome update to the referring clinician")]
    assert (m["due"], m["on_time"], m["late"], m["missing"], m["pending"]) == (2, 0, 1, 0, 1)
    assert m["late_rate"] == 1.0
    t = table.totals
    assert (t["due"], t["on_time"], t["late"], t["missing"], t["pending"]) == (7, 2, 2, 2, 1)
    assert table.chart.labels == ["Cora", "Mona"]
    assert table.chart.series[0].values == [2, 0]


def test_loop_health_empty(db, users):
    table = loop_health(JUNE, user=users["manager"], now=on(6, 28))
    assert table.rows == [] and table.totals["on_time_rate"] is None
