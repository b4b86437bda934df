"""The dashboard: figures on small fixed data, checked against hand-computed answers, and
which numbers link to rows for whom."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from refnet.followups.models import FollowUp, RuleKind
from refnet.referrals.models import Referral
from refnet.referrals.services import referral_transition
from refnet.reports.dashboard import dashboard

NY = ZoneInfo("America/New_York")
NOW = datetime(2025, 3, 20, 10, 0, tzinfo=NY)
URL = reverse("reports:dashboard")


def at(y, m, d, h=12):
    return datetime(y, m, d, h, 0, tzinfo=NY)


@pytest.fixture
def practice(users, location, other_location, make_partner, make_referral):
    """Hand-counted, March 2025 (today the 20th), New York time:

    Smith (clinician): 2 in March (one won, one contacted), 1 in February, 1 in March 2024.
    Peak Gym: first-ever referral in March, at the other location.
    Riverside: 1 in January only; its re-engage follow-up is open.
    Feb 28 23:30 local (Mar 1 04:30 UTC) counts in February, not March.
    """
    with time_machine.travel(NOW, tick=False):
        smith = make_partner("John Smith, MD")
        gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer")
        riverside = make_partner("Riverside Family Medicine", kind="medical_practice")
        won = make_referral(source_partner=smith, received_at=at(2025, 3, 3))
        contacted = make_referral(source_partner=smith, received_at=at(2025, 3, 10))
        make_referral(source_partner=smith, received_at=at(2025, 2, 28, 23) + timedelta(
            minutes=30))
        make_referral(source_partner=smith, received_at=at(2024, 3, 5))
        make_referral(source_partner=gym, received_at=at(2025, 3, 12), location=other_location)
        make_referral(source_partner=riverside, received_at=at(2025, 1, 8))
        cora = users["coordinator"]
        for status in ("contacted", "scheduled", "seen", "closed_won"):
            won = referral_transition(referral=won, to_status=status, by=cora)
        referral_transition(referral=contacted, to_status="contacted", by=cora)
        # Only the rules' own follow-ups would otherwise exist; make the picture explicit.
        FollowUp.objects.all().delete()
        due = NOW - timedelta(days=3)
        FollowUp.objects.create(key="t:reengage", kind=RuleKind.REENGAGE, partner=riverside,
                                assignee=users["outreach"], due_at=due, original_due_at=due,
                                summary="Re-engage Riverside: no referral in 70 days, "
                                        "usually one every 30")
        FollowUp.objects.create(key="t:thank", kind=RuleKind.THANK_REFERRER, partner=smith,
                                assignee=cora, due_at=due, original_due_at=due,
                                summary="Thank John Smith, MD", location=location)
        FollowUp.objects.create(key="t:later", kind=RuleKind.CHECK_IN, partner=gym,
                                assignee=cora, due_at=NOW + timedelta(days=2),
                                original_due_at=NOW + timedelta(days=2), summary="Check in")
    return {"smith": smith, "gym": gym, "riverside": riverside}


def test_this_month_against_last_month_and_last_year(practice, location):
    board = dashboard(month=date(2025, 3, 1), now=NOW)
    assert (board.this.received, board.this.seen, board.this.won) == (3, 1, 1)
    assert (board.last.received, board.last.seen, board.last.won) == (1, 0, 0)
    assert (board.year_ago.received, board.year_ago.won) == (1, 0)
    assert len(board.trend) == 24
    assert board.trend[0].month == date(2023, 4, 1) and board.trend[-1].month == date(2025, 3, 1)
    assert [f.received for f in board.trend[-3:]] == [1, 1, 3]  # Jan, Feb, Mar

    at_main = dashboard(month=date(2025, 3, 1), location_id=location.pk, now=NOW)
    assert at_main.this.received == 2  # the gym's referral went to the other location


def test_funnel_counts_how_far_the_months_referrals_got(practice):
    board = dashboard(month=date(2025, 3, 1), now=NOW)
    assert [(stage, n) for stage, _, n, _ in board.funnel] == [
        ("received", 3), ("contacted", 2), ("scheduled", 1), ("seen", 1), ("won", 1)]
    assert board.funnel[1][3] == pytest.approx(2 / 3)


def test_top_and_new_referrers(practice):
    board = dashboard(month=date(2025, 3, 1), now=NOW)
    assert [(r.name, r.referrals) for r in board.top_referrers] == [
        ("John Smith, MD", 2), ("Peak Fitness Gym", 1)]
    # Smith referred before March; the gym never had.
    assert [r.name for r in board.new_referrers] == ["Peak Fitness Gym"]
    assert board.new_referrers_total == 1
    feb = dashboard(month=date(2025, 2, 1), now=NOW)
    assert feb.new_referrers_total == 0  # Smith's first referral was March 2024


def test_referrers_by_location_ties_by_name_and_a_move_between_partners(
        practice, location, other_location, make_partner, make_referral):
    from refnet.reports.dashboard import new_referrers, top_referrers

    with time_machine.travel(NOW, tick=False):
        zed, abe = make_partner("Zed Clinic"), make_partner("Abe Clinic")
        for partner in (zed, zed, abe, abe):
            make_referral(source_partner=partner, received_at=at(2025, 3, 14))
        march = date(2025, 3, 1)

        top = top_referrers(march, location_id=None, limit=3)
        here = top_referrers(march, location_id=location.pk)
        there, there_total = new_referrers(march, location_id=other_location.pk)
        # The referral's source is corrected: the rollup follows, so do the figures.
        Referral.objects.filter(source_partner=abe).update(source_partner=zed)
        after = top_referrers(march, location_id=None)

    assert [(r.name, r.referrals) for r in top] == [
        ("Abe Clinic", 2), ("John Smith, MD", 2), ("Zed Clinic", 2)]
    assert [r.name for r in here] == ["Abe Clinic", "John Smith, MD", "Zed Clinic"]
    assert ([r.name for r in there], there_total) == (["Peak Fitness Gym"], 1)
    assert [(r.name, r.referrals) for r in after][:2] == [("Zed Clinic", 4),
                                                          ("John Smith, MD", 2)]
    assert "Abe Clinic" not in [r.name for r in after]


def test_gone_quiet_and_overdue_by_owner(practice, users):
    board = dashboard(month=date(2025, 3, 1), now=NOW)
    assert [f.partner.name for f in board.quiet] == ["Riverside Family Medicine"]
    assert "usually one every 30" in board.quiet[0].summary
    assert sorted((o.name, o.overdue) for o in board.overdue_by_owner) == [
        ("Cora", 1), ("Otto", 1)]
    assert board.overdue_total == 2


def test_an_empty_month_shows_zeros(users, location):
    board = dashboard(month=date(2025, 3, 1), now=NOW)
    assert (board.this.received, board.last.received, board.year_ago.received) == (0, 0, 0)
    assert board.top_referrers == [] and board.new_referrers == [] and board.funnel[0][2] == 0


@time_machine.travel(NOW, tick=False)
def test_manager_sees_links_to_the_rows_behind_the_numbers(practice, login):
    page = login("manager").get(URL).content.decode()
    assert "Referrals: March 2025" in page
    assert "<svg" in page
    assert "/referrals/?received_from=2025-03-01&amp;received_to=2025-03-31" in page
    assert "status=closed_won" in page
    assert f"source={practice['smith'].pk}" in page
    assert "/inbox/?who=" in page
    assert f"/partners/{practice['riverside'].pk}/" in page


@time_machine.travel(NOW, tick=False)
def test_outreach_sees_plain_numbers_where_links_would_lead_to_patients(practice, login):
    page = login("outreach").get(URL).content.decode()
    assert "Referrals: March 2025" in page
    assert "/referrals/?" not in page
    assert "/inbox/?who=" not in page
    assert f"/partners/{practice['riverside'].pk}/" in page  # partner pages are fine


@time_machine.travel(NOW, tick=False)
def test_location_and_month_filters(practice, login, other_location):
    client = login("manager")
    page = client.get(URL, {"location": other_location.pk, "month": "2025-03"}).content.decode()
    assert "at Westside Clinic" in page and f"location={other_location.pk}" in page
    page = client.get(URL, {"month": "2025-13"}).content.decode()
    assert "Enter a month like 2025-03" in page
    assert "Referrals: March 2025" in page  # falls back to this month


@pytest.mark.parametrize("role,status", [
    ("front_desk", 403), ("coordinator", 200), ("outreach", 200), ("manager", 200),
    ("admin", 200),
])
def test_who_may_open_the_dashboard(users, login, role, status):
    assert login(role).get(URL).status_code == status


def test_anonymous_goes_to_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_managers_and_outreach_land_on_the_dashboard(login):
    for role in ("manager", "outreach"):
        assert login(role).get("/", follow=True).redirect_chain[-1][0] == URL
