"""The referral services refuse what would corrupt a referral, with a clear message."""

import pytest
from django.core.exceptions import ValidationError

from refnet.partners.services import partner_merge
from refnet.referrals.services import (
    TransitionError,
    referral_record,
    referral_resolve_source,
    referral_transition,
)


def test_unknown_status_is_refused_not_a_crash(make_referral):
    with pytest.raises(TransitionError, match="Unknown status"):
        referral_transition(referral=make_referral(), to_status="teleported", by=None)


def test_a_stale_move_is_refused(make_referral):
    referral = make_referral()
    referral_transition(referral=referral, to_status="scheduled", by=None)
    with pytest.raises(TransitionError, match="someone moved it"):
        referral_transition(referral=referral, to_status="contacted", by=None,
                            expected_status="received")
    referral.refresh_from_db()
    assert referral.status == "scheduled"


@pytest.mark.parametrize("to_status,outcome,message", [
    ("contacted", "no_show", "recorded when a referral closes"),
    ("closed_lost", "became_patient", "became a patient"),
])
def test_outcomes_must_fit_the_move(make_referral, to_status, outcome, message):
    referral = make_referral()
    with pytest.raises(ValidationError, match=message):
        referral_transition(referral=referral, to_status=to_status, outcome=outcome, by=None)
    referral.refresh_from_db()
    assert (referral.status, referral.outcome) == ("received", "")


def test_closed_won_records_became_patient_and_refuses_a_lost_outcome(make_referral):
    referral = make_referral()
    for step in ("scheduled", "seen"):
        referral = referral_transition(referral=referral, to_status=step, by=None)
    with pytest.raises(ValidationError):
        referral_transition(referral=referral, to_status="closed_won", outcome="no_response",
                            by=None)
    won = referral_transition(referral=referral, to_status="closed_won", by=None)
    assert won.outcome == "became_patient"


def test_a_contact_without_a_source_is_refused(make_patient, make_partner, make_contact,
                                               location):
    contact = make_contact(make_partner())
    with pytest.raises(ValidationError, match="does not work at"):
        referral_record(patient=make_patient(), source_unknown=True, source_contact=contact,
                        location=location, by=None)


def test_a_referral_to_a_twice_merged_partner_credits_the_last_survivor(
    make_patient, make_partner, location
):
    a, b, c = make_partner("A Smith"), make_partner("B Smith"), make_partner("C Smith")
    partner_merge(survivor=b, duplicate=a, by=None)
    partner_merge(survivor=c, duplicate=b, by=None)
    a.refresh_from_db()
    referral = referral_record(patient=make_patient(), source_partner=a, location=location,
                               by=None)
    assert referral.source_partner == c


def test_an_answered_ask_again_is_not_overwritten(make_patient, make_partner, location):
    referral = referral_record(patient=make_patient(), source_unknown=True, location=location,
                               by=None)
    first, second = make_partner("First Answer"), make_partner("Second Answer")
    referral_resolve_source(referral=referral, partner=first, by=None)
    with pytest.raises(ValidationError, match="already recorded"):
        referral_resolve_source(referral=referral, partner=second, by=None)
    referral.refresh_from_db()
    assert referral.source_partner == first
