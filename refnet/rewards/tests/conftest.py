"""Rewards fixtures: a beneficiary patient referrer, a clinician, a practice, a gym."""

from datetime import date

import pytest

from refnet.rewards.services import appreciation_issue, program_enable


@pytest.fixture
def beneficiary_referrer(make_patient, make_partner):
    """Rosa Medicare, a Medicare beneficiary who sends friends."""
    patient = make_patient("Rosa", "Medicare", federal_program_beneficiary=True)
    return make_partner("Rosa Medicare", kind="patient_referrer", patient=patient)


@pytest.fixture
def private_referrer(make_patient, make_partner):
    patient = make_patient("Pat", "Private")
    return make_partner("Pat Private", kind="patient_referrer", patient=patient)


@pytest.fixture
def clinician(make_partner):
    return make_partner("John Smith, MD", kind="clinician")


@pytest.fixture
def practice_partner(make_partner):
    return make_partner("Riverside Family Practice", kind="medical_practice")


@pytest.fixture
def gym(make_partner):
    return make_partner("Iron Gym", kind="local_business", category="gym_trainer")


@pytest.fixture
def program_on(users):
    return program_enable(sign_off_text="Reviewed with counsel on 2026-03-01: $10 voucher, "
                                        "no outcome condition.",
                          reward_description="Coffee voucher", reward_value="10.00",
                          by=users["manager"])


@pytest.fixture
def issue(users):
    """issue(partner, value, ...) as the coordinator unless by= is given."""

    def do(partner, value, *, by=None, given_on=date(2026, 6, 1), kind="gift",
           description="Thank-you gift", **fields):
        return appreciation_issue(partner=partner, kind=kind, description=description,
                                  value=value, given_on=given_on,
                                  by=by or users["coordinator"], **fields)

    return do


@pytest.fixture(autouse=True)
def default_caps(request):
    """The caps the data migration seeds; a transactional test elsewhere may have flushed
    them (as `refnet demo --reset` does), so put them back for each database test."""
    if request.node.get_closest_marker("django_db"):
        from refnet.rewards.services import caps_ensure_defaults

        caps_ensure_defaults()
