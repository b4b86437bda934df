"""Manager overrides (with a reason, by a manager only) and bad input (nothing written)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from refnet.rewards.models import Appreciation, AppreciationStatus, DecisionKind

pytestmark = pytest.mark.django_db


def test_manager_override_with_reason_issues_over_the_cap(clinician, issue, users):
    issue(clinician, "500.00")
    row, _ = issue(clinician, "100.00", override_reason="Annual CME dinner, approved by board",
                   by=users["manager"])
    assert row.status == AppreciationStatus.ISSUED and row.decision == DecisionKind.OVERRIDE
    assert row.override_by == users["manager"]
    assert row.override_reason == "Annual CME dinner, approved by board"
    assert "cap for 2026: $535.00" in row.reason  # why it needed the override, kept


def test_outreach_cannot_override(clinician, issue, users):
    issue(clinician, "500.00")
    row, _ = issue(clinician, "100.00", override_reason="Please", by=users["outreach"])
    assert row.status == AppreciationStatus.REFUSED and row.override_by is None
    assert "Only a manager may override a cap" in row.reason


def test_over_cap_without_a_reason_is_refused_even_for_a_manager(clinician, issue, users):
    row, _ = issue(clinician, "600.00", override_reason="   ", by=users["manager"])
    assert row.status == AppreciationStatus.REFUSED


@pytest.mark.parametrize("value, field", [("-1", "value"), ("1.234", "value"),
                                          ("ten", "value"), ("NaN", "value")])
def test_bad_values_write_nothing(clinician, issue, value, field):
    with pytest.raises(ValidationError) as err:
        issue(clinician, value)
    assert field in err.value.message_dict
    assert not Appreciation.objects.exists()


def test_contact_of_another_partner_is_refused(clinician, gym, make_contact, issue):
    other = make_contact(gym, "Gina Gym")
    with pytest.raises(ValidationError) as err:
        issue(clinician, "10.00", contact=other)
    assert "not a contact of the partner" in str(err.value)
    assert not Appreciation.objects.exists()


def test_empty_description_is_refused(clinician, issue):
    with pytest.raises(ValidationError) as err:
        issue(clinician, "10.00", description="  ")
    assert "description" in err.value.message_dict
    assert not Appreciation.objects.exists()


def test_referral_from_another_partner_is_refused(clinician, gym, make_referral, issue):
    referral = make_referral(source_partner=gym)
    with pytest.raises(ValidationError):
        issue(clinician, "10.00", referral=referral, given_on=date(2026, 5, 5))
