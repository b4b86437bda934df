"""Attribution with hand-computed figures.

The event starts 2025-03-01 12:00 UTC and counts 73 days, so a partner's baseline is its
referrals in the 365 days before / 5 (73 / 365 = 0.2)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from refnet.outreach.models import Invitee
from refnet.outreach.selectors import (
    attribution_compute,
    event_attribution,
    events_attribution,
)
from refnet.outreach.services import invitees_add
from refnet.partners.services import partner_merge

from .conftest import utc

START = utc(2025, 3, 1, 12)
NOW = utc(2025, 9, 1)  # the window (to May 13) has closed


@pytest.fixture
def event(make_event):
    return make_event(starts_at=START, ends_at=START + timedelta(hours=2),
                      cost=Decimal("1000.00"), attribution_days=73)


@pytest.fixture
def refer(make_referral):
    def at(partner, *times):
        for when in times:
            make_referral(source_partner=partner, received_at=when)

    return at


def _business(make_partner, name):
    return make_partner(name=name, kind="local_business", category="gym_trainer")


def _attend(event, *partners):
    invitees_add(event=event, by=None, partners=list(partners))
    Invitee.objects.filter(event=event).update(attended=True)


def test_actual_above_baseline_window_edges_and_a_partner_below_its_rate(
        event, make_partner, refer):
    gym = _business(make_partner, "Iron Works Gym")
    # Year before: 10 inside (one exactly at the start counts as before), one exactly 365
    # days before the start, which is outside. -> baseline 10 * 73/365 = 2.00
    refer(gym, START, *[START - timedelta(days=d) for d in range(1, 10)],
          START - timedelta(days=365))
    # Window (start, start + 73 days]: 5 inside, including the last instant; one just after.
    refer(gym, START + timedelta(seconds=1), *[START + timedelta(days=d) for d in (5, 20, 40)],
          START + timedelta(days=73), START + timedelta(days=73, seconds=1))
    quiet = _business(make_partner, "Quiet Yoga")
    refer(quiet, *[START - timedelta(days=d) for d in range(1, 16)])  # 15 -> baseline 3.00
    refer(quiet, START + timedelta(days=3))  # 1 after: below its usual rate -> 0, not -2
    absent = _business(make_partner, "Absent Shop")  # invited, did not come
    refer(absent, *[START + timedelta(days=d) for d in range(1, 9)])
    _attend(event, gym, quiet)
    invitees_add(event=event, by=None, partners=[absent])

    result = event_attribution(event, now=NOW)

    rows = {r.name: r for r in result.rows}
    assert set(rows) == {"Iron Works Gym", "Quiet Yoga"}
    assert (rows["Iron Works Gym"].before, rows["Iron Works Gym"].baseline,
            rows["Iron Works Gym"].actual, rows["Iron Works Gym"].attributed) == (
        10, Decimal("2.00"), 5, Decimal("3.00"))
    assert (rows["Quiet Yoga"].before, rows["Quiet Yoga"].baseline, rows["Quiet Yoga"].actual,
            rows["Quiet Yoga"].attributed) == (15, Decimal("3.00"), 1, Decimal("0"))
    assert result.attributed == Decimal("3.00")
    assert result.actual == 6 and result.baseline == Decimal("5.00")
    assert result.cost_per_referral == Decimal("333.33")  # 1000 / 3
    assert not result.window_open


def test_a_merged_partner_counts_under_its_survivor_once(event, make_partner, refer):
    gym = _business(make_partner, "Iron Works Gym")
    dup = _business(make_partner, "Ironworks Gym LLC")
    refer(gym, START - timedelta(days=30))  # before: 1 on the survivor ...
    refer(dup, START - timedelta(days=60), START + timedelta(days=2),
          START + timedelta(days=9))  # ... 1 on the duplicate; 2 after
    # Invited as the duplicate (and its contact person, separately), then merged.
    invitees_add(event=event, by=None, partners=[dup])
    Invitee.objects.filter(event=event).update(attended=True)
    partner_merge(survivor=gym, duplicate=dup, by=None)
    invitees_add(event=event, by=None, partners=[gym])  # its own row: the survivor
    Invitee.objects.filter(event=event).update(attended=True)

    result = event_attribution(event, now=NOW)

    (row,) = result.rows
    assert row.name == "Iron Works Gym" and row.attendees == 2
    # before 2 -> baseline 2 * 0.2 = 0.40; after 2 -> attributed 1.60
    assert (row.before, row.baseline, row.actual, row.attributed) == (
        2, Decimal("0.40"), 2, Decimal("1.60"))
    assert result.cost_per_referral == Decimal("625.00")  # 1000 / 1.6


def test_nothing_attributed_means_no_cost_per_referral(event, make_partner, refer):
    steady = _business(make_partner, "Steady Realty")
    refer(steady, *[START - timedelta(days=d * 36) for d in range(1, 11)])  # 10 -> 2.00
    refer(steady, START + timedelta(days=10), START + timedelta(days=50))  # 2: as usual
    _attend(event, steady)
    result = event_attribution(event, now=NOW)
    assert result.attributed == 0 and result.cost_per_referral is None
    empty = event_attribution(event.__class__.objects.create(
        title="No one came", starts_at=START, ends_at=START + timedelta(hours=1)), now=NOW)
    assert empty.rows == [] and empty.cost_per_referral is None


def test_an_open_window_scales_the_baseline_to_the_days_so_far():
    result = attribution_compute(
        starts_at=START, days=73, cost=Decimal("500"), now=START + timedelta(days=36, hours=5),
        attendees=[(1, "Gym"), (1, "Gym")],
        received={1: [START - timedelta(days=d) for d in range(1, 11)]  # 10 before
                  + [START + timedelta(days=1), START + timedelta(days=30),
                     START + timedelta(days=40)]})  # the day-40 one is still to come
    (row,) = result.rows
    assert result.window_open and result.elapsed_days == 36
    # baseline 10 * 36/365 = 0.986... -> 0.99; actual so far 2 -> attributed 1.01
    assert (row.attendees, row.baseline, row.actual, row.attributed) == (
        2, Decimal("0.99"), 2, Decimal("1.01"))
    assert result.cost_per_referral == Decimal("495.05")  # 500 / 1.01


def test_before_the_event_nothing_is_counted():
    result = attribution_compute(starts_at=START, days=90, cost=Decimal("100"),
                                 now=START - timedelta(days=1), attendees=[(1, "Gym")],
                                 received={1: [START - timedelta(days=3)]})
    assert result.rows[0].baseline == 0 and result.rows[0].actual == 0
    assert result.cost_per_referral is None


def test_the_events_list_attributes_each_event_in_a_fixed_number_of_queries(
        make_event, make_partner, refer, django_assert_max_num_queries):
    """Several events, each with its own attendees, baseline and window, computed together
    as the list does: the figures are each event's own, and more events cost no query."""
    gym, school = _business(make_partner, "Gym"), _business(make_partner, "School")
    events = []
    for n, partner in enumerate([gym, school, gym, school]):
        start = START + timedelta(days=100 * n)
        made = make_event(title=f"Talk {n}", starts_at=start, ends_at=start + timedelta(hours=1),
                          cost=Decimal("100.00"), attribution_days=73)
        invitees_add(event=made, by=None, partners=[partner])
        events.append(made)
    Invitee.objects.update(attended=True)
    # Gym: 5 referrals in the year before the first talk (baseline 1), 3 in its window.
    refer(gym, *[START - timedelta(days=10 * d) for d in range(1, 6)])
    refer(gym, *[START + timedelta(days=d) for d in (1, 2, 3)])
    # School: 2 referrals in the window of its second talk (Talk 3) only.
    refer(school, START + timedelta(days=301), START + timedelta(days=302))
    with django_assert_max_num_queries(4):
        together = events_attribution(events, now=NOW + timedelta(days=400))
    with django_assert_max_num_queries(4):
        events_attribution(events[:1], now=NOW + timedelta(days=400))
    figures = [(together[e.pk].actual, together[e.pk].attributed) for e in events]
    # Talk 2 (gym, day 200): 8 referrals in its year before -> baseline 1.6, none after.
    assert figures == [(3, Decimal("2.00")), (0, Decimal("0")), (0, Decimal("0")),
                       (2, Decimal("2.00"))]
    for made in events:
        one = event_attribution(made, now=NOW + timedelta(days=400))
        assert (one.actual, one.attributed, one.cost_per_referral) == (
            together[made.pk].actual, together[made.pk].attributed,
            together[made.pk].cost_per_referral)
