"""The dashboard's contacted / scheduled / seen figures link to the referral list filtered
by "reached stage", and the list counts exactly what the dashboard counted; the gone-quiet
list honours the location filter."""

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from refnet.referrals.models import Outcome
from refnet.referrals.services import referral_transition
from refnet.reports.dashboard import dashboard

NY = ZoneInfo("America/New_York")
NOW = datetime(2025, 3, 20, 10, 0, tzinfo=NY)
DASHBOARD = reverse("reports:dashboard")


def at(y, m, d, h=12, minute=0):
    return datetime(y, m, d, h, minute, tzinfo=NY)


def move(referral, by, *statuses):
    for status in statuses:
        referral = referral_transition(referral=referral, to_status=status, by=by)
    return referral


@pytest.fixture
def march(users, location, other_location, make_partner, make_referral):
    """March 2025 at `location`, hand-counted:

    a: contacted, scheduled, seen, closed won      -> contacted, scheduled, seen
    b: contacted, scheduled, back to contacted     -> contacted, scheduled (kept)
    c: contacted, closed lost                      -> contacted
    d: received only                               -> nothing
    e: Feb 28 23:30 local (Mar 1 UTC), seen        -> February, not counted
    f: at the other location, seen                 -> not counted at `location`
    At `location`: received 4, contacted 3, scheduled 2, seen 1.
    All locations: received 5, contacted 4, scheduled 3, seen 2.
    """
    with time_machine.travel(NOW, tick=False):
        smith = make_partner("John Smith, MD")
        cora = users["coordinator"]
        a = make_referral(source_partner=smith, received_at=at(2025, 3, 2))
        b = make_referral(source_partner=smith, received_at=at(2025, 3, 5))
        c = make_referral(source_partner=smith, received_at=at(2025, 3, 6))
        make_referral(source_partner=smith, received_at=at(2025, 3, 31, 23, 30))
        e = make_referral(source_partner=smith, received_at=at(2025, 2, 28, 23, 30))
        f = make_referral(source_partner=smith, received_at=at(2025, 3, 7),
                          location=other_location)
        move(a, cora, "contacted", "scheduled", "seen", "closed_won")
        move(b, cora, "contacted", "scheduled", "contacted")
        c = move(c, cora, "contacted")
        referral_transition(referral=c, to_status="closed_lost", by=cora,
                            outcome=Outcome.NO_SHOW)
        move(e, cora, "contacted", "scheduled", "seen")
        move(f, cora, "contacted", "scheduled", "seen")
    return {"smith": smith}


def _links(page: str) -> dict[str, str]:
    """reached=<stage> link of the funnel, by stage."""
    found = {}
    for href in re.findall(r'href="([^"]*reached=[^"]*)"', page):
        url = html.unescape(href)
        found[re.search(r"reached=(\w+)", url).group(1)] = url
    return found


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("where", ["one", "all"])
def test_each_stage_links_to_a_list_of_exactly_that_many(march, login, location, where):
    location_id = location.pk if where == "one" else None
    board = dashboard(month=datetime(2025, 3, 1).date(), location_id=location_id)
    expected = {"one": {"contacted": 3, "scheduled": 2, "seen": 1},
                "all": {"contacted": 4, "scheduled": 3, "seen": 2}}[where]
    assert {s: getattr(board.this, s) for s in expected} == expected
    client = login("manager")
    page = client.get(DASHBOARD, {"month": "2025-03",
                                  **({"location": location.pk} if location_id else {})}
                      ).content.decode()
    links = _links(page)
    assert set(links) == {"contacted", "scheduled", "seen"}
    for stage, url in links.items():
        assert "received_from=2025-03-01" in url and "received_to=2025-03-31" in url
        assert (f"location={location.pk}" in url) == (where == "one")
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["page"].paginator.count == expected[stage], stage
        assert f"Reached: {stage}" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_outreach_gets_no_reached_links(march, login):
    page = login("outreach").get(DASHBOARD, {"month": "2025-03"}).content.decode()
    assert "reached=" not in page


@time_machine.travel(NOW, tick=False)
def test_a_wrong_reached_value_is_reported_and_ignored(march, login):
    response = login("manager").get(reverse("referrals:list"), {
        "reached": "<b>won</b>", "received_from": "2025-03-01", "received_to": "2025-03-31"})
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["page"].paginator.count == 5
    assert "<b>won</b>" not in page
    assert "Select a valid choice" in page


# -- gone quiet, by location ---------------------------------------------------------------

@pytest.fixture
def quiet(users, location, other_location, make_partner, make_referral):
    """Three partners gone quiet (open re-engage follow-ups), today March 20, 2025; the
    baseline window is the 365 days before today (from March 20, 2024):

    Smith: to `location` Oct 1, 2024 and to the other Jan 10, 2025 -> quiet at both.
    Gym: to the other only, Dec 1, 2024                             -> quiet at the other.
    Riverside: to `location` Dec 1, 2023 (before the window), to the other Nov 1, 2024
                                                                    -> quiet at the other.
    Each follow-up's own location (the latest referral's) says nothing here: Smith's is
    the other location, yet Smith is quiet at `location` too.
    """
    from refnet.followups.models import FollowUp, RuleKind

    with time_machine.travel(NOW, tick=False):
        smith = make_partner("John Smith, MD")
        gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer")
        riverside = make_partner("Riverside Family Medicine", kind="medical_practice")
        make_referral(source_partner=smith, received_at=at(2024, 10, 1))
        make_referral(source_partner=smith, received_at=at(2025, 1, 10), location=other_location)
        make_referral(source_partner=gym, received_at=at(2024, 12, 1), location=other_location)
        make_referral(source_partner=riverside, received_at=at(2023, 12, 1))
        make_referral(source_partner=riverside, received_at=at(2024, 11, 1),
                      location=other_location)
        FollowUp.objects.all().delete()
        due = NOW - timedelta(days=2)
        for i, p in enumerate((smith, gym, riverside)):
            FollowUp.objects.create(key=f"t:reengage{i}", kind=RuleKind.REENGAGE, partner=p,
                                    assignee=users["outreach"], due_at=due + timedelta(hours=i),
                                    original_due_at=due, location=other_location,
                                    summary=f"Re-engage {p.name}: no referral in 60 days")
    return {"smith": smith, "gym": gym, "riverside": riverside}


@time_machine.travel(NOW, tick=False)
def test_dashboard_gone_quiet_follows_the_location(quiet, location, other_location, login):
    def names(location_id):
        board = dashboard(month=NOW.date(), location_id=location_id, now=NOW)
        return [f.partner.name for f in board.quiet], board.quiet_total

    everyone = ["John Smith, MD", "Peak Fitness Gym", "Riverside Family Medicine"]
    assert names(None) == (everyone, 3)
    assert names(location.pk) == (["John Smith, MD"], 1)
    assert names(other_location.pk) == (everyone, 3)
    page = login("manager").get(DASHBOARD, {"location": location.pk}).content.decode()
    quiet_part = page.split('id="h-quiet"')[1]
    assert "John Smith, MD" in quiet_part and "Peak Fitness Gym" not in quiet_part
    assert "Riverside" not in quiet_part


@time_machine.travel(NOW, tick=False)
def test_dashboard_counts_every_quiet_partner_past_the_ten_it_lists(quiet, make_partner,
                                                                    users):
    """Practice-wide the list and its count are two reads: the ten soonest due, and all of
    them counted (closed re-engages and other kinds count nowhere)."""
    from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind

    due = NOW - timedelta(days=1)
    for i in range(9):
        FollowUp.objects.create(key=f"t:more{i}", kind=RuleKind.REENGAGE,
                                partner=make_partner(f"Quiet {i}"),
                                assignee=users["outreach"], due_at=due + timedelta(hours=i),
                                original_due_at=due, summary="Re-engage")
    FollowUp.objects.filter(key="t:more8").update(status=FollowUpStatus.DONE)
    FollowUp.objects.create(key="t:check", kind=RuleKind.CHECK_IN, partner=make_partner("Busy"),
                            due_at=due, original_due_at=due, summary="Check in")

    board = dashboard(month=NOW.date(), location_id=None, now=NOW)

    assert board.quiet_total == 3 + 8
    assert [f.partner.name for f in board.quiet] == (
        ["John Smith, MD", "Peak Fitness Gym", "Riverside Family Medicine"]
        + [f"Quiet {i}" for i in range(7)])


@time_machine.travel(NOW, tick=False)
def test_partner_health_gone_quiet_follows_the_location(quiet, location, login):
    from refnet.reports.selectors import ReportFilter, partner_health

    def quiet_rows(**kw):
        f = ReportFilter(start=datetime(2025, 3, 1).date(), end=datetime(2025, 3, 31).date(),
                         **kw)
        table = partner_health(f, user=None)
        return sorted(r["partner"] for r in table.rows if r["status"] == "gone quiet")

    assert quiet_rows() == ["John Smith, MD", "Peak Fitness Gym", "Riverside Family Medicine"]
    assert quiet_rows(location_ids=(location.pk,)) == ["John Smith, MD"]
    page = login("manager").get(reverse("reports:report", args=["partner-health"]),
                                {"location": location.pk}).content.decode()
    assert "1 gone quiet" in page and "Peak Fitness Gym" not in page
