"""Rewards to patients who refer: the program gate, the Medicare/Medicaid beneficiary caps
($15 per item, $75 per year, never cash), and no dependence on the referral's outcome."""

from datetime import date
from decimal import Decimal

import pytest

from refnet.referrals.models import ReferralStatus
from refnet.rewards.checks import reward_check
from refnet.rewards.models import Appreciation, AppreciationStatus, DecisionKind

pytestmark = pytest.mark.django_db


def test_program_off_refuses_any_patient_reward(beneficiary_referrer, private_referrer, issue):
    for partner in (beneficiary_referrer, private_referrer):
        row, decision = issue(partner, "5.00")
        assert row.status == AppreciationStatus.REFUSED
        assert "patient referral program is off: a compliance sign-off is needed" in row.reason
        assert not decision.overridable


def test_program_on_with_sign_off_allows_a_reward(private_referrer, program_on, issue):
    row, decision = issue(private_referrer, "25.00")
    assert row.status == AppreciationStatus.ISSUED and row.decision == DecisionKind.WITHIN_CAP
    assert decision.cap is None  # not a beneficiary: no federal nominal-value cap
    assert row.patient_id == private_referrer.patient_id


def test_item_cap_15_00_is_within_and_15_01_is_refused(beneficiary_referrer, program_on,
                                                       issue):
    ok, decision = issue(beneficiary_referrer, "15.00")
    assert ok.status == AppreciationStatus.ISSUED
    assert decision.item_cap == Decimal("15.00") and decision.cap == Decimal("75.00")
    assert decision.remaining_after == Decimal("60.00")
    over, decision = issue(beneficiary_referrer, "15.01")
    assert over.status == AppreciationStatus.REFUSED
    assert over.reason == "Patient gift limit: at most $15.00 per item; this is $15.01."
    assert decision.overridable


def test_year_cap_60_plus_15_is_within_and_60_plus_16_is_refused(beneficiary_referrer,
                                                                  program_on, issue):
    for day in (1, 2, 3, 4):
        issue(beneficiary_referrer, "15.00", given_on=date(2026, 3, day))
    assert reward_check(beneficiary_referrer, Decimal("15"), "gift", False,
                        date(2026, 6, 1)).remaining == Decimal("15.00")
    # 60 + 16: refused for the year (and the item); 60 + 15 = 75 exactly: within.
    over, _ = issue(beneficiary_referrer, "16.00")
    assert over.status == AppreciationStatus.REFUSED
    assert ("at most $75.00 per year; $60.00 already given in 2026, so $15.00 is left and "
            "this is $16.00.") in over.reason
    ok, _ = issue(beneficiary_referrer, "15.00")
    assert ok.status == AppreciationStatus.ISSUED
    full = reward_check(beneficiary_referrer, Decimal("0.01"), "gift", False, date(2026, 12, 31))
    assert not full.within and full.spent == Decimal("75.00") and full.remaining == 0
    # A new calendar year starts again at zero.
    assert reward_check(beneficiary_referrer, Decimal("15"), "gift", False,
                        date(2027, 1, 1)).within


def test_gift_card_refused_even_under_cap_and_not_overridable(beneficiary_referrer,
                                                              program_on, issue, users):
    row, decision = issue(beneficiary_referrer, "5.00", is_cash_equivalent=True,
                          override_reason="Birthday, small amount", by=users["manager"])
    assert row.status == AppreciationStatus.REFUSED and row.decision == DecisionKind.REFUSED
    assert "never cash or a cash equivalent" in row.reason
    assert "cannot be overridden" in row.reason
    assert not decision.overridable
    assert row.override_by is None and row.override_reason == ""


def test_referrer_without_a_linked_patient_gets_the_safe_limits(make_partner, program_on,
                                                                issue):
    unknown = make_partner("Someone's Friend", kind="patient_referrer")
    row, decision = issue(unknown, "20.00")
    assert row.status == AppreciationStatus.REFUSED
    assert "at most $15.00 per item" in row.reason
    assert "apply to be safe" in row.warnings


def test_year_total_is_per_patient_across_two_referrer_entries(make_partner, program_on,
                                                                issue, beneficiary_referrer):
    twin = make_partner("R. Medicare", kind="patient_referrer",
                        patient=beneficiary_referrer.patient)
    for _ in range(5):
        issue(beneficiary_referrer, "15.00")
    row, _ = issue(twin, "1.00")
    assert row.status == AppreciationStatus.REFUSED  # 75 already given to the same patient


def test_the_decision_does_not_read_the_referral_outcome(beneficiary_referrer, program_on,
                                                         issue, make_referral, make_patient):
    won = make_referral(patient=make_patient("Fred", "Friend"),
                        source_partner=beneficiary_referrer)
    lost = make_referral(patient=make_patient("Lou", "Lost"),
                         source_partner=beneficiary_referrer)
    won.status, lost.status = ReferralStatus.CLOSED_WON, ReferralStatus.CLOSED_LOST
    won.save()
    lost.save()
    a, _ = issue(beneficiary_referrer, "10.00", referral=won)
    b, _ = issue(beneficiary_referrer, "10.00", referral=lost)
    assert (a.status, a.decision) == (b.status, b.decision) == (AppreciationStatus.ISSUED,
                                                                 DecisionKind.WITHIN_CAP)


def test_refused_attempts_are_recorded_but_do_not_count(beneficiary_referrer, program_on,
                                                        issue):
    issue(beneficiary_referrer, "40.00")
    issue(beneficiary_referrer, "10.00")
    assert Appreciation.objects.filter(status=AppreciationStatus.REFUSED).count() == 1
    assert reward_check(beneficiary_referrer, Decimal("0"), "gift", False,
                        date(2026, 6, 1)).spent == Decimal("10.00")
