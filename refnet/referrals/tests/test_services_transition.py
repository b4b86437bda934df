"""referrals.services.referral_transition and referral_resolve_source."""

import pytest
from django.core.exceptions import ValidationError

from refnet.referrals.models import ReferralStatus
from refnet.referrals.services import (
    TransitionError,
    referral_record,
    referral_resolve_source,
    referral_transition,
)


def test_a_move_writes_the_timeline(make_referral, users):
    referral = make_referral()
    before = referral.status_changed_at

    moved = referral_transition(referral=referral, to_status="contacted",
                                by=users["coordinator"], note="Called")

    assert moved.status == "contacted"
    assert moved.status_changed_at > before
    event = moved.events.last()
    assert (event.from_status, event.to_status, event.by, event.note) == (
        "received", "contacted", users["coordinator"], "Called")


@pytest.mark.parametrize("path, refused", [
    ([], "seen"),
    ([], "closed_won"),
    (["contacted"], "received"),
    (["scheduled", "seen", "closed_won"], "contacted"),
])
def test_moves_off_the_path_are_refused_and_change_nothing(make_referral, users, path, refused):
    referral = make_referral()
    for status in path:
        referral = referral_transition(referral=referral, to_status=status, by=None)
    events = referral.events.count()

    with pytest.raises(TransitionError):
        referral_transition(referral=referral, to_status=refused, by=users["coordinator"])

    current = type(referral).objects.get(pk=referral.pk)
    assert current.status == referral.status
    assert current.events.count() == events


def test_every_status_move_in_the_table_is_accepted(make_referral):
    for start, targets in [
        (ReferralStatus.RECEIVED, ["contacted", "scheduled", "closed_lost"]),
        (ReferralStatus.SCHEDULED, ["seen", "contacted", "closed_lost"]),
    ]:
        for target in targets:
            referral = make_referral()
            if start != ReferralStatus.RECEIVED:
                referral = referral_transition(referral=referral, to_status=start, by=None)
            moved = referral_transition(referral=referral, to_status=target, by=None,
                                        outcome="other" if target == "closed_lost" else "")
            assert moved.status == target


def test_closed_lost_needs_a_known_outcome(make_referral):
    referral = make_referral()

    with pytest.raises(ValidationError) as missing:
        referral_transition(referral=referral, to_status="closed_lost", by=None)
    with pytest.raises(ValidationError) as unknown:
        referral_transition(referral=referral, to_status="closed_lost", by=None,
                            outcome="abducted")

    assert "outcome" in missing.value.message_dict
    assert "outcome" in unknown.value.message_dict
    referral.refresh_from_db()
    assert referral.status == "received"


def test_closed_won_defaults_to_became_patient(make_referral):
    referral = make_referral()
    for status in ["scheduled", "seen", "closed_won"]:
        referral = referral_transition(referral=referral, to_status=status, by=None)

    assert referral.outcome == "became_patient"


def test_resolve_source_records_partner_contact_and_who(location, make_patient, make_partner,
                                                       make_contact, users):
    referral = referral_record(patient=make_patient(), source_unknown=True, location=location,
                               by=None)
    partner = make_partner()
    contact = make_contact(partner)

    resolved = referral_resolve_source(referral=referral, partner=partner, contact=contact,
                                       by=users["front_desk"])

    assert (resolved.source_partner, resolved.source_contact, resolved.source_status) == (
        partner, contact, "known")
    assert resolved.events.last().by == users["front_desk"]
