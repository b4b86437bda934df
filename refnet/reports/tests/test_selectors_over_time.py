"""Referrals over time: hand-counted figures by month (rollup) and by day/week (referral
table), the local month boundary, a partner merged mid-period, an empty period, links."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from refnet.partners.services import partner_merge
from refnet.reports.rollup import rollup_rebuild
from refnet.reports.selectors import ReportFilter, referrals_over_time

# 23:30 on January 31 in New York is 04:30 on February 1 in UTC: January's.
LATE_JANUARY = datetime(2026, 2, 1, 4, 30, tzinfo=UTC)


def at(day: int, month: int = 1, hour: int = 15) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def data(make_partner, make_referral, users, other_location, settings):
    settings.TIME_ZONE = "America/New_York"
    doc = make_partner("Dr. Ada Doc", kind="clinician", owner=users["outreach"])
    gym = make_partner("Iron Gym", kind="local_business", category="gym_trainer")
    dup = make_partner("Dr Ada Doc (dup)", kind="clinician")
    make_referral(source_partner=doc, received_at=at(5))
    make_referral(source_partner=doc, received_at=LATE_JANUARY)
    make_referral(source_partner=gym, received_at=at(12))
    make_referral(source_partner=dup, received_at=at(20))
    make_referral(source_partner=doc, received_at=at(3, 2), location=other_location)
    # Merged mid-period: the duplicate's referral now counts under the survivor.
    partner_merge(survivor=doc, duplicate=dup, by=None)
    rollup_rebuild()
    return {"doc": doc, "gym": gym, "other_location": other_location}


def _cols(table):
    return {c.label: c.key for c in table.columns}


def test_by_kind_monthly_reads_the_rollup(data, users):
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 2, 28), granularity="month")
    table = referrals_over_time(f, user=users["manager"], by="kind")
    cols = _cols(table)
    assert [r["period"] for r in table.rows] == ["Jan 2026", "Feb 2026"]
    jan, feb = table.rows
    assert jan[cols["Clinician"]] == 3 and jan[cols["Local business"]] == 1
    assert jan["total"] == 4
    assert feb[cols["Clinician"]] == 1 and feb["total"] == 1
    assert table.totals["total"] == 5
    assert table.chart.kind == "stacked"


def test_by_source_counts_the_merged_partner_under_its_survivor(data, users):
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 1, 31))
    table = referrals_over_time(f, user=users["manager"], by="source")
    cols = _cols(table)
    assert "Dr Ada Doc (dup)" not in cols
    (jan,) = table.rows
    assert jan[cols["Dr. Ada Doc"]] == 3
    assert jan[cols["Iron Gym"]] == 1
    # The number links to the rows behind it, in local dates.
    link = jan["_links"][cols["Dr. Ada Doc"]]
    assert f"source={data['doc'].pk}" in link
    assert "received_from=2026-01-01" in link and "received_to=2026-01-31" in link


def test_day_granularity_puts_late_january_on_january_31(data, users):
    f = ReportFilter(start=date(2026, 1, 30), end=date(2026, 2, 1), granularity="day")
    table = referrals_over_time(f, user=users["manager"], by="location")
    assert [(r["period"], r["total"]) for r in table.rows] == [
        ("2026-01-30", 0), ("2026-01-31", 1), ("2026-02-01", 0)]


def test_week_granularity_and_a_partial_month_read_the_referral_table(data, users):
    # Jan 5 and Jan 12 2026 are Mondays.
    f = ReportFilter(start=date(2026, 1, 5), end=date(2026, 1, 18), granularity="week")
    table = referrals_over_time(f, user=users["manager"], by="kind")
    assert [(r["period"], r["total"]) for r in table.rows] == [
        ("Wk 2026-01-05", 1), ("Wk 2026-01-12", 1)]
    partial = ReportFilter(start=date(2026, 1, 10), end=date(2026, 2, 10))
    rows = referrals_over_time(partial, user=users["manager"], by="kind").rows
    assert [r["total"] for r in rows] == [3, 1]  # Jan 12, 20, 31; Feb 3


def test_quarter_and_location(data, users):
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 3, 31), granularity="quarter")
    table = referrals_over_time(f, user=users["manager"], by="location")
    cols = _cols(table)
    (q1,) = table.rows
    assert q1["period"] == "2026 Q1"
    assert q1[cols["Main Street Clinic"]] == 4 and q1[cols["Westside Clinic"]] == 1


def test_filters_map_to_the_rollup(data, users):
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 2, 28),
                     owner_ids=(users["outreach"].pk,))
    table = referrals_over_time(f, user=users["manager"], by="kind")
    assert [r["total"] for r in table.rows] == [3, 1]  # the survivor's owner now
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 2, 28),
                     partner_categories=("gym_trainer",))
    assert [r["total"] for r in referrals_over_time(f, user=None, by="owner").rows] == [1, 0]


def test_empty_period(data, users):
    f = ReportFilter(start=date(2025, 1, 1), end=date(2025, 3, 31))
    table = referrals_over_time(f, user=users["manager"], by="source")
    assert [r["total"] for r in table.rows] == [0, 0, 0]
    assert [c.key for c in table.columns] == ["period", "total"]
    assert table.totals["total"] == 0


def test_outreach_gets_no_links_to_patient_rows(data, users):
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 1, 31))
    table = referrals_over_time(f, user=users["outreach"], by="source")
    assert all(r["_links"] == {} for r in table.rows)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"start": date(2026, 2, 1), "end": date(2026, 1, 1)}, "end"),
    ({"start": date(2026, 1, 1), "end": date(2026, 1, 2), "granularity": "hour"},
     "granularity"),
    ({"start": date(2020, 1, 1), "end": date(2026, 1, 1), "granularity": "day"},
     "granularity"),
])
def test_bad_filters_name_the_field(kwargs, field):
    with pytest.raises(ValidationError) as error:
        ReportFilter(**kwargs)
    assert field in error.value.message_dict


def test_unknown_breakdown_names_the_field(db, users):
    f = ReportFilter(start=date(2026, 1, 1), end=date(2026, 1, 31))
    with pytest.raises(ValidationError) as error:
        referrals_over_time(f, user=users["manager"], by="colour")
    assert "by" in error.value.message_dict


def test_a_removed_referral_counts_neither_by_month_nor_by_day(data, users):
    from refnet.referrals.models import Referral
    from refnet.referrals.services import referral_remove, referral_restore

    gym_referral = Referral.objects.get(source_partner=data["gym"])  # January 12
    referral_remove(referral=gym_referral, by=users["manager"], reason="Test entry")
    months = ReportFilter(start=date(2026, 1, 1), end=date(2026, 2, 28), granularity="month")
    days = ReportFilter(start=date(2026, 1, 5), end=date(2026, 1, 18), granularity="day")
    assert referrals_over_time(months, user=users["manager"]).totals["total"] == 4
    assert referrals_over_time(days, user=users["manager"]).totals["total"] == 1  # the 5th
    referral_restore(referral=gym_referral, by=users["manager"])
    assert referrals_over_time(months, user=users["manager"]).totals["total"] == 5
    assert referrals_over_time(days, user=users["manager"]).totals["total"] == 2
