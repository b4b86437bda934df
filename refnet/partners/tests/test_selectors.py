"""selectors: the monthly counts behind the chart, and the partner lookup every view uses."""

from datetime import UTC, date, datetime

import pytest
from django.http import Http404

from refnet.partners.selectors import (
    get_partner_for,
    partner_monthly_counts,
    partner_survivor,
    partners_directory,
)
from refnet.partners.services import partner_merge


def test_monthly_counts_cover_every_month_oldest_first_with_zeros(make_partner, make_referral,
                                                                  local_dt):
    partner = make_partner()
    make_referral(source_partner=partner, received_at=local_dt(2024, 12, 31, 23, 59))
    make_referral(source_partner=partner, received_at=local_dt(2025, 2, 1, 0, 1))
    make_referral(source_partner=partner, received_at=local_dt(2025, 2, 20))
    make_referral(source_partner=partner, received_at=local_dt(2025, 4, 1))  # next month

    counts = partner_monthly_counts(partner, months=3, today=date(2025, 3, 10))

    assert counts == [(date(2025, 1, 1), 0), (date(2025, 2, 1), 2), (date(2025, 3, 1), 0)]


def test_monthly_counts_use_the_practice_time_zone(make_partner, make_referral):
    partner = make_partner()
    # 03:00 UTC on Jan 1st is 22:00 on Dec 31st in New York.
    make_referral(source_partner=partner, received_at=datetime(2025, 1, 1, 3, 0, tzinfo=UTC))

    counts = dict(partner_monthly_counts(partner, months=2, today=date(2025, 1, 15)))

    assert counts == {date(2024, 12, 1): 1, date(2025, 1, 1): 0}


def test_monthly_counts_across_a_year_boundary(make_partner):
    counts = partner_monthly_counts(make_partner(), months=24, today=date(2025, 1, 31))

    assert counts[0][0] == date(2023, 2, 1) and counts[-1][0] == date(2025, 1, 1)
    assert len({m for m, _ in counts}) == 24


def test_get_partner_for_404s_for_unknown_ids(users):
    with pytest.raises(Http404):
        get_partner_for(users["outreach"], 424242)


def test_get_partner_for_returns_merged_partners_so_views_can_redirect(make_partner, users):
    survivor, duplicate = make_partner("A Clinic"), make_partner("A Clinik")
    partner_merge(survivor=survivor, duplicate=duplicate, by=None)

    found = get_partner_for(users["outreach"], duplicate.pk)

    assert found == duplicate
    assert partner_survivor(found) == survivor


def test_directory_search_skips_merged_partners_even_if_still_indexed(make_partner):
    from refnet.partners.models import SearchEntry
    from refnet.partners.services import search_entries_for

    survivor, duplicate = make_partner("A Clinic"), make_partner("Zebra Clinic")
    partner_merge(survivor=survivor, duplicate=duplicate, by=None)
    # A stale index row (say, written by an import that raced the merge).
    SearchEntry.objects.bulk_create(search_entries_for(duplicate))

    assert [p.name for p in partners_directory(q="zebra")] == ["A Clinic"]
