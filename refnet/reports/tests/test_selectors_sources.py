"""Conversion by source and the leaderboard, on small hand-counted data."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from refnet.partners.services import partner_merge
from refnet.referrals.services import referral_transition
from refnet.reports.selectors import ReportFilter, conversion_by_source, leaderboard
from refnet.reports.selectors import sources as sources_module

MARCH = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 15, 0, tzinfo=UTC)


def move(referral, *statuses, by=None, outcome=""):
    for status in statuses:
        referral = referral_transition(referral=referral, to_status=status, by=by,
                                       outcome=outcome if status == "closed_lost" else "")
    return referral


@pytest.fixture
def data(make_partner, make_referral, users):
    doc = make_partner("Dr. Ada Doc", kind="clinician", owner=users["manager"])
    gym = make_partner("Iron Gym", kind="local_business", category="gym_trainer")
    dup = make_partner("A. Doc duplicate", kind="clinician")
    with time_machine.travel(at(31), tick=False):
        move(make_referral(source_partner=doc, received_at=at(2)), "contacted")
        move(make_referral(source_partner=doc, received_at=at(3)), "scheduled")
        move(make_referral(source_partner=dup, received_at=at(4)), "scheduled", "seen",
             "closed_won")
        make_referral(source_partner=doc, received_at=at(5))
        move(make_referral(source_partner=gym, received_at=at(6)), "closed_lost",
             outcome="no_response")
        make_referral(source_partner=gym, received_at=at(7))
        # February: the previous period for the leaderboard.
        make_referral(source_partner=gym, received_at=at(10, 2))
        make_referral(source_partner=gym, received_at=at(11, 2))
        make_referral(source_partner=gym, received_at=at(12, 2))
        make_referral(source_partner=doc, received_at=at(13, 2))
        partner_merge(survivor=doc, duplicate=dup, by=None)
    return {"doc": doc, "gym": gym}


def test_conversion_by_source(data, users):
    table = conversion_by_source(MARCH, user=users["manager"])
    doc, gym = table.rows
    assert doc["source"] == "Dr. Ada Doc"
    assert (doc["received"], doc["contacted"], doc["scheduled"], doc["seen"], doc["won"]) == (
        4, 3, 2, 1, 1)
    assert (doc["contacted_rate"], doc["scheduled_rate"], doc["seen_rate"],
            doc["won_rate"]) == (0.75, 0.5, 0.25, 0.25)
    assert (gym["received"], gym["contacted"], gym["won"]) == (2, 0, 0)
    assert gym["won_rate"] == 0.0
    t = table.totals
    assert (t["received"], t["contacted"], t["scheduled"], t["seen"], t["won"]) == (
        6, 3, 2, 1, 1)
    assert t["contacted_rate"] == 0.5
    assert f"source={data['doc'].pk}" in doc["_links"]["received"]
    assert table.chart.series[0].values == [6, 3, 2, 1, 1]


def test_conversion_top_and_all_others(data, users, monkeypatch):
    monkeypatch.setattr(sources_module, "CONVERSION_TOP", 1)
    table = conversion_by_source(MARCH, user=users["manager"])
    top, rest = table.rows
    assert top["source"] == "Dr. Ada Doc"
    assert rest["source"] == "All other sources"
    assert (rest["received"], rest["contacted"], rest["won"]) == (2, 0, 0)


def test_conversion_empty_period(data, users):
    table = conversion_by_source(ReportFilter(start=date(2025, 1, 1), end=date(2025, 1, 31)),
                                 user=users["manager"])
    assert table.rows == []
    assert table.totals["received"] == 0 and table.totals["contacted_rate"] is None


def test_leaderboard_with_change_against_previous_period(data, users):
    table = leaderboard(MARCH, user=users["manager"])
    first, second = table.rows
    assert (first["rank"], first["partner"], first["referrals"], first["previous"],
            first["change"]) == (1, "Dr. Ada Doc", 4, 1, 3)
    assert first["kind"] == "Clinician" and first["owner"] == "Mona"
    # February has 28 days: the previous period of March's 31 days is Jan 29 to Feb 28.
    assert (second["partner"], second["referrals"], second["previous"], second["change"]) == (
        "Iron Gym", 2, 3, -1)
    assert "received_from=2026-01-29" in second["_links"]["previous"]


def test_leaderboard_for_outreach_has_no_patient_links(data, users):
    table = leaderboard(MARCH, user=users["outreach"])
    assert all(r["_links"] == {} for r in table.rows)
