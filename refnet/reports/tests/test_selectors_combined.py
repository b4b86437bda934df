"""Periods that are not whole months: whole months from the per-partner rollup, edge days
from the referral table (added, or the whole month minus its other days), on hand-counted
data with a merged partner and referrals near midnight at month ends in the practice's
time zone (America/New_York)."""

import importlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from refnet.partners.services import partner_merge
from refnet.referrals.models import Referral
from refnet.reports.selectors import (
    ReportFilter,
    conversion_by_source,
    leaderboard,
    partner_health,
    patient_origin,
    speed,
)
from refnet.reports.selectors.combined import fetch, partner_sums_sql, period_parts

speed_module = importlib.import_module("refnet.reports.selectors.speed")
NY = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 26)


def local(month: int, day: int, hour: int = 12, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def test_period_parts_whole_months_only():
    assert period_parts(date(2025, 11, 1), date(2026, 10, 31), today=TODAY) == (
        (202511, 202610), [])


def test_period_parts_adds_short_edges():
    # Jan 20-31 (12 days) is cheaper than Jan 1-19; Mar 1-10 cheaper than Mar 11-31.
    assert period_parts(date(2026, 1, 20), date(2026, 3, 10), today=TODAY) == (
        (202602, 202602), [(1, date(2026, 1, 20), date(2026, 1, 31)),
                           (1, date(2026, 3, 1), date(2026, 3, 10))])


def test_period_parts_subtracts_short_complements():
    # Jan 3 - Mar 28: January whole minus Jan 1-2, March whole minus Mar 29-31.
    assert period_parts(date(2026, 1, 3), date(2026, 3, 28), today=TODAY) == (
        (202601, 202603), [(-1, date(2026, 1, 1), date(2026, 1, 2)),
                           (-1, date(2026, 3, 29), date(2026, 3, 31))])


def test_period_parts_this_month_so_far():
    # The days after today hold no referrals: the month's rollup, minus (empty) days.
    assert period_parts(date(2026, 11, 1), date(2026, 11, 26), today=TODAY) == (
        (202611, 202611), [(-1, date(2026, 11, 27), date(2026, 11, 30))])
    # Inside one month, both sides of the period are the complement.
    assert period_parts(date(2026, 10, 6), date(2026, 10, 7), today=TODAY) == (
        None, [(1, date(2026, 10, 6), date(2026, 10, 7))])
    assert period_parts(date(2026, 10, 2), date(2026, 10, 30), today=TODAY) == (
        (202610, 202610), [(-1, date(2026, 10, 1), date(2026, 10, 1)),
                           (-1, date(2026, 10, 31), date(2026, 10, 31))])


@pytest.fixture
def data(make_partner, make_referral, other_location):
    a = make_partner("Alpha Clinic")
    b = make_partner("Alpha Clinic duplicate")
    c = make_partner("Cedar Practice")
    for when in [local(1, 2), local(1, 3, 0, 30), local(1, 19),
                 local(1, 31, 23, 30),  # Feb 1 in UTC, January here
                 local(2, 15),
                 local(3, 10, 23, 30),  # Mar 11 in UTC, March 10 here
                 local(3, 11, 1, 0), local(3, 29)]:
        make_referral(source_partner=a, received_at=when)
    for when in [local(1, 25), local(3, 5)]:
        make_referral(source_partner=b, received_at=when)
    make_referral(source_partner=c, received_at=local(2, 28, 23, 30))  # Mar 1 in UTC
    make_referral(source_partner=c, received_at=local(4, 1, 0, 30))
    make_referral(source_partner=c, received_at=local(1, 25), location=other_location)
    partner_merge(survivor=a, duplicate=b, by=None)
    return {"a": a, "c": c, "other_location": other_location}


WINDOWS = {"p1": (date(2026, 1, 20), date(2026, 3, 10)),  # edge days added
           "p2": (date(2026, 1, 3), date(2026, 3, 28))}  # whole months minus edge days


def sums(f: ReportFilter) -> dict[int, tuple[int, int]]:
    sql, params = partner_sums_sql(f, WINDOWS, today=TODAY)
    return {pid: (int(p1), int(p2)) for pid, p1, p2 in fetch(sql, params) if p1 or p2}


def test_partner_sums_edges_merge_and_time_zone(data):
    # p1, Jan 20 - Mar 10: Alpha Jan 31 23:30, Feb 15, Mar 10 23:30 and the duplicate's
    # Jan 25 and Mar 5 (merged) = 5; Cedar Feb 28 23:30 and, at the other location, Jan 25.
    # p2, Jan 3 - Mar 28: Alpha also Jan 3 00:30, Jan 19, Mar 11 01:00 = 8 (not Jan 2,
    # Mar 29); Cedar the same 2 (not Apr 1 00:30).
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert sums(f) == {data["a"].pk: (5, 8), data["c"].pk: (2, 2)}


def test_partner_sums_from_the_referral_table_alone(data, service_line):
    # A service-line filter: the rollup has no such dimension, every day is read raw.
    Referral.objects.update(service_line=service_line)
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 1, 31),
                     service_line_ids=(service_line.pk,))
    assert sums(f) == {data["a"].pk: (5, 8), data["c"].pk: (2, 2)}


def test_partner_sums_location_filter(data, location):
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 1, 31),
                     location_ids=(data["other_location"].pk,))
    assert sums(f) == {data["c"].pk: (1, 1)}
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 1, 31), location_ids=(location.pk,))
    assert sums(f) == {data["a"].pk: (5, 8), data["c"].pk: (1, 1)}


def test_partner_health_over_partial_months(data, users):
    # This period Jan 20 - Mar 10 (50 days); the previous one Nov 30 - Jan 19: Alpha's
    # Jan 2, Jan 3 00:30, Jan 19. Last 90 days Dec 11 - Mar 10: Alpha's 8 up to Mar 10
    # 23:30 (with the merged two). The 90 before: none.
    f = ReportFilter(start=date(2026, 1, 20), end=date(2026, 3, 10))
    table = partner_health(f, user=users["manager"])
    by_name = {r["partner"]: r for r in table.rows}
    alpha = by_name["Alpha Clinic"]
    assert (alpha["current"], alpha["previous"], alpha["last90"], alpha["before90"]) == (
        5, 3, 8, 0)
    cedar = by_name["Cedar Practice"]
    assert (cedar["current"], cedar["previous"], cedar["last90"]) == (2, 0, 2)
    assert "Alpha Clinic duplicate" not in by_name
    assert [r["partner"] for r in table.rows] == ["Alpha Clinic", "Cedar Practice"]


def test_conversion_and_leaderboard_over_partial_months(data, users):
    f = ReportFilter(start=date(2026, 1, 20), end=date(2026, 3, 10))
    table = conversion_by_source(f, user=users["manager"])
    assert [(r["source"], r["received"]) for r in table.rows] == [
        ("Alpha Clinic", 5), ("Cedar Practice", 2)]
    assert table.totals["received"] == 7
    board = leaderboard(f, user=users["manager"])
    # The previous period, Nov 30 - Jan 19: Alpha's Jan 2, Jan 3 00:30 and Jan 19.
    assert [(r["partner"], r["referrals"], r["previous"], r["change"]) for r in board.rows] == [
        ("Alpha Clinic", 5, 3, 2), ("Cedar Practice", 2, 0, 2)]
    # Jan 3 - Mar 28 (months whole minus their edge days), previous Oct 10 - Jan 2.
    f = ReportFilter(start=date(2026, 1, 3), end=date(2026, 3, 28))
    board = leaderboard(f, user=users["manager"])
    assert [(r["partner"], r["referrals"], r["previous"]) for r in board.rows] == [
        ("Alpha Clinic", 8, 1), ("Cedar Practice", 2, 0)]


@pytest.fixture
def march(make_referral, make_patient):
    """Referrals around March (local times), with the patient's ZIP and the days to first
    contact (and to the visit)."""
    made = []
    for when, zip_code, contact, seen in [
            (local(2, 28, 23, 30), "62701", 1, None),  # Mar 1 in UTC, February here
            (local(3, 2), "62701", 1, None),
            (local(3, 10), "62702", 2, 5), (local(3, 10), "62702", 3, None),
            (local(3, 10), "62702", 4, None),
            (local(3, 31, 23, 30), "60601", 10, None)]:  # Apr 1 in UTC, March here
        r = make_referral(patient=make_patient(zip_code=zip_code), received_at=when)
        Referral.objects.filter(pk=r.pk).update(
            contacted_at=when + timedelta(days=contact),
            seen_at=when + timedelta(days=seen) if seen else None)
        made.append(r)
    return made


def test_patient_origin_over_partial_months(march, users):
    def zips(f: ReportFilter) -> list[tuple[str, int]]:
        table = patient_origin(f, user=users["outreach"])
        return [(r["group"], r["total"]) for r in table.rows if r["_section"] == "ZIP code"]

    # Mar 3-31: March's rollup minus Mar 1-2 (the Mar 2 referral).
    assert zips(ReportFilter(start=date(2026, 3, 3), end=date(2026, 3, 31))) == [
        ("62702", 3), ("60601", 1)]
    # Feb 20 - Mar 31: Feb 20-28 from the referral table (Feb 28 23:30) plus March whole.
    assert zips(ReportFilter(start=date(2026, 2, 20), end=date(2026, 3, 31))) == [
        ("62702", 3), ("62701", 2), ("60601", 1)]


def test_speed_from_histogram_over_partial_months(march, users, monkeypatch):
    monkeypatch.setattr(speed_module, "EXACT_UP_TO", 0)
    table = speed(ReportFilter(start=date(2026, 3, 3), end=date(2026, 3, 31)),
                  user=users["manager"], by="location")
    (main,) = table.rows
    assert (main["received"], main["contacted"], main["seen"]) == (4, 4, 1)
    # Contacts after 2, 3, 4, 10 days (the Mar 2 one, after 1 day, subtracted): daily
    # buckets [2,3) [3,4) [4,5) [10,11). Median rank 1.5 in [3, 4): 3 + (1.5 - 1 + 0.5)
    # = 4.0; p90 rank 2.7 in [4, 5): 4 + (2.7 - 2 + 0.5) = 5.2.
    assert main["contact_median"] == pytest.approx(4.0)
    assert main["contact_p90"] == pytest.approx(5.2)
    assert main["seen_median"] == pytest.approx(5.5)  # one visit after 5 days: [5, 6)
    assert "exact to the bucket" in table.note
    assert (table.totals["received"], table.totals["contacted"]) == (4, 4)


def test_month_so_far_with_and_without_referrals_after_today(make_partner, make_referral):
    # Today is Nov 26: "Nov 1 - 26" is November's rollup row minus Nov 27 - 30. Without a
    # referral after today that range is not read; with one (a date in the future), it
    # is subtracted again, so the sum stays exact both ways.
    a = make_partner("Alpha Clinic")
    for day in (2, 26):
        make_referral(source_partner=a, received_at=local(11, day))
    f = ReportFilter(start=date(2026, 11, 1), end=date(2026, 11, 30))
    windows = {"so_far": (date(2026, 11, 1), TODAY)}
    from refnet.reports.selectors.combined import read_parts

    assert read_parts(*windows["so_far"], today=TODAY) == ((202611, 202611), [])

    def so_far() -> int:
        sql, params = partner_sums_sql(f, windows, today=TODAY)
        return {pid: int(n) for pid, n in fetch(sql, params)}[a.pk]

    assert so_far() == 2
    make_referral(source_partner=a, received_at=local(11, 28))
    assert read_parts(*windows["so_far"], today=TODAY)[1] == [
        (-1, date(2026, 11, 27), date(2026, 11, 30))]
    assert so_far() == 2


def test_edge_day_runs_are_merged_where_they_overlap_or_touch():
    """Each run of edge days is read by its own SELECT and the rows are summed: a referral
    in two overlapping runs would count twice, so overlapping or touching runs merge."""
    from datetime import date

    from refnet.reports.selectors.combined import disjoint_spans

    d = date
    assert disjoint_spans({(d(2026, 9, 1), d(2026, 9, 7)), (d(2026, 9, 5), d(2026, 9, 30)),
                           (d(2026, 10, 1), d(2026, 10, 3)), (d(2026, 6, 1), d(2026, 6, 8))}) == [
        (d(2026, 6, 1), d(2026, 6, 8)), (d(2026, 9, 1), d(2026, 10, 3))]
    assert disjoint_spans({(d(2026, 9, 1), d(2026, 9, 30)), (d(2026, 9, 3), d(2026, 9, 4))}) == [
        (d(2026, 9, 1), d(2026, 9, 30))]
    assert disjoint_spans(set()) == []
