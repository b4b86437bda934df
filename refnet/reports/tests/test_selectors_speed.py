"""Speed: median and 90th percentile on a known set, computed in SQL on each vendor."""

from datetime import UTC, date, datetime, timedelta

import pytest

from refnet.referrals.models import Referral
from refnet.reports.selectors import ReportFilter, speed

F = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
RECEIVED = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def _with_times(referral, contact_days=None, seen_days=None):
    Referral.objects.filter(pk=referral.pk).update(
        contacted_at=RECEIVED + timedelta(days=contact_days) if contact_days is not None
        else None,
        seen_at=RECEIVED + timedelta(days=seen_days) if seen_days is not None else None)


@pytest.fixture
def data(make_partner, make_referral, other_location):
    doc = make_partner("Dr. Ada Doc")
    gym = make_partner("Iron Gym", kind="local_business", category="gym_trainer")
    # Main Street: contact after 1, 2, 3, 4, 10 days (and one never); visits after 5 and 9.
    for contact, seen in [(1, 5), (2, 9), (3, None), (4, None), (10, None), (None, None)]:
        _with_times(make_referral(source_partner=doc, received_at=RECEIVED), contact, seen)
    # Westside: contacted after half a day.
    _with_times(make_referral(source_partner=gym, received_at=RECEIVED,
                              location=other_location), 0.5)
    return {"doc": doc, "gym": gym}


def test_speed_by_location(data, users):
    table = speed(F, user=users["manager"], by="location")
    main, west = table.rows
    assert main["group"] == "Main Street Clinic"
    assert (main["received"], main["contacted"], main["seen"]) == (6, 5, 2)
    assert main["contact_median"] == pytest.approx(3)
    # 90th percentile, interpolated like percentile_cont: rank 0.9 * 4 = 3.6 -> 4 + 0.6 * 6.
    assert main["contact_p90"] == pytest.approx(7.6)
    assert main["seen_median"] == pytest.approx(7)
    assert main["seen_p90"] == pytest.approx(8.6)
    assert west["contact_median"] == pytest.approx(0.5)
    assert west["contact_p90"] == pytest.approx(0.5)
    assert west["seen_median"] is None
    # All: 0.5, 1, 2, 3, 4, 10 -> median 2.5, p90 rank 4.5 -> 4 + 0.5 * 6 = 7.
    assert table.totals["contact_median"] == pytest.approx(2.5)
    assert table.totals["contact_p90"] == pytest.approx(7.0)
    assert table.totals["received"] == 7


def test_speed_by_source(data, users):
    table = speed(F, user=users["manager"], by="source")
    doc, gym = table.rows
    assert doc["group"] == "Dr. Ada Doc" and doc["contact_median"] == pytest.approx(3)
    assert gym["group"] == "Iron Gym" and gym["contact_median"] == pytest.approx(0.5)
    assert f"source={data['doc'].pk}" in doc["_links"]["received"]


def test_speed_empty_period(data, users):
    table = speed(ReportFilter(start=date(2025, 1, 1), end=date(2025, 1, 31)),
                  user=users["manager"])
    assert table.rows == []
    assert table.totals["received"] == 0 and table.totals["contact_median"] is None


def test_speed_works_with_debug_on(data, users, settings):
    """`make run` serves with DEBUG on, where Django formats every query for its log: a
    bare % in the percentile SQL broke the page there (a 500) while tests passed."""
    settings.DEBUG = True
    table = speed(F, user=users["manager"], by="location")
    assert table.rows[0]["contact_median"] == pytest.approx(3)


def test_speed_from_histogram_is_exact_to_the_bucket(data, users, monkeypatch):
    """Above the threshold the percentiles come from the hourly/daily histogram rollup."""
    import importlib

    speed_module = importlib.import_module("refnet.reports.selectors.speed")

    monkeypatch.setattr(speed_module, "EXACT_UP_TO", 0)
    table = speed(F, user=users["manager"], by="location")
    main, west = table.rows
    assert (main["received"], main["contacted"], main["seen"]) == (6, 5, 2)
    # Contacts after 1, 2, 3, 4, 10 days: daily buckets [1,2) [2,3) [3,4) [4,5) [10,11).
    # Median rank 2 is alone in [3, 4): its middle, 3.5 (the exact answer is 3).
    assert main["contact_median"] == pytest.approx(3.5)
    # p90 rank 3.6 lies in [4, 5) (rank 3): 4 + (3.6 - 3 + 0.5) = 5.1 (exact: 7.6).
    assert main["contact_p90"] == pytest.approx(5.1)
    # Half a day: hourly bucket 12 -> [0.5, 0.5417) days, its middle.
    assert west["contact_median"] == pytest.approx(12.5 / 24)
    assert west["seen_median"] is None
    assert "exact to the bucket" in table.note
    assert table.totals["received"] == 7


def test_speed_totals_when_groups_are_cut_or_single(data, users, other_location, monkeypatch):
    """Totals are the groups' sums only when every group is shown; one group's
    percentiles are the overall ones."""
    import importlib

    speed_module = importlib.import_module("refnet.reports.selectors.speed")
    monkeypatch.setattr(speed_module, "SPEED_TOP", 1)
    table = speed(F, user=users["manager"], by="location")
    assert [r["group"] for r in table.rows] == ["Main Street Clinic"]
    assert (table.totals["received"], table.totals["contacted"], table.totals["seen"]) == (
        7, 6, 2)
    assert table.totals["contact_median"] == pytest.approx(2.5)  # all 7, not Main Street's
    monkeypatch.undo()
    only_main = ReportFilter(start=F.start, end=F.end,
                             location_ids=(table.filters.location_ids or ()) + (
                                 Referral.objects.exclude(location=other_location)
                                 .values_list("location_id", flat=True).first(),))
    table = speed(only_main, user=users["manager"], by="location")
    assert table.totals["received"] == 6
    assert table.totals["contact_median"] == pytest.approx(3)
    assert table.totals["contact_p90"] == pytest.approx(7.6)
