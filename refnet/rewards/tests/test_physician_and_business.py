"""Referring clinicians and practices: the Stark non-monetary cap by calendar year, no
cash, a missing year refused; businesses: no cap, recorded."""

from datetime import date
from decimal import Decimal

import pytest

from refnet.rewards.checks import reward_check
from refnet.rewards.models import AppreciationStatus, DecisionKind

pytestmark = pytest.mark.django_db


def test_2026_cap_is_535(clinician, issue):
    issue(clinician, "500.00", given_on=date(2026, 2, 1), kind="meal")
    ok, decision = issue(clinician, "35.00", given_on=date(2026, 11, 30))
    assert ok.status == AppreciationStatus.ISSUED and decision.cap == Decimal("535.00")
    assert decision.remaining_after == Decimal("0.00")
    over, _ = issue(clinician, "0.01", given_on=date(2026, 12, 31))
    assert over.status == AppreciationStatus.REFUSED
    assert over.reason == ("Non-monetary compensation cap for 2026: $535.00; $535.00 already "
                           "given, so $0.00 is left and this is $0.01.")


def test_year_boundary_dec_31_counts_in_its_own_year(clinician, issue):
    issue(clinician, "519.00", given_on=date(2025, 12, 31))  # the whole 2025 cap
    refused, _ = issue(clinician, "1.00", given_on=date(2025, 12, 31))
    assert refused.status == AppreciationStatus.REFUSED and "2025: $519.00" in refused.reason
    jan1, decision = issue(clinician, "535.00", given_on=date(2026, 1, 1))
    assert jan1.status == AppreciationStatus.ISSUED and decision.spent == Decimal("0.00")


def test_missing_year_cap_refused_and_names_the_year(clinician, issue, users):
    row, decision = issue(clinician, "10.00", given_on=date(2027, 1, 4),
                          override_reason="Urgent", by=users["manager"])
    assert row.status == AppreciationStatus.REFUSED
    assert "No cap set for 2027; ask an admin" in row.reason
    assert not decision.overridable


def test_cash_to_a_clinician_is_refused(clinician, issue):
    row, decision = issue(clinician, "20.00", is_cash_equivalent=True)
    assert row.status == AppreciationStatus.REFUSED and "Stark" in row.reason
    assert not decision.overridable


def test_incidental_figure_warns_but_does_not_refuse(clinician, issue):
    row, _ = issue(clinician, "60.00", kind="meal")
    assert row.status == AppreciationStatus.ISSUED
    assert "$44.00 incidental-benefit figure" in row.warnings


def test_a_practice_is_tracked_as_one_recipient_against_the_same_cap(practice_partner,
                                                                    clinician, issue):
    issue(practice_partner, "530.00", kind="meal")
    assert issue(clinician, "530.00")[0].status == AppreciationStatus.ISSUED  # separate
    row, decision = issue(practice_partner, "10.00")
    assert row.status == AppreciationStatus.REFUSED
    assert "tracked for the practice" in row.warnings
    assert decision.spent == Decimal("530.00")


def test_business_has_no_cap_and_cash_is_recorded_with_a_warning(gym, issue):
    big, decision = issue(gym, "1200.00", kind="co_promotion")
    assert big.decision == DecisionKind.UNCAPPED and decision.cap is None
    cash, _ = issue(gym, "50.00", is_cash_equivalent=True)
    assert cash.status == AppreciationStatus.ISSUED and "no federal cap" in cash.warnings
    assert reward_check(gym, Decimal("1"), "gift", False, date(2026, 7, 1)).spent == \
        Decimal("1250.00")
