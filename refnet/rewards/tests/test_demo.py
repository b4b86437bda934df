"""The demo's appreciation: a dozen entries, one refused over the cap, one override,
caps restored after the demo's wipe, the program off."""

import random
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from refnet.rewards import demo
from refnet.rewards.models import Appreciation, ComplianceCap, DecisionKind
from refnet.rewards.services import program_get

pytestmark = pytest.mark.django_db


def test_demo_builds_a_dozen_entries(users, make_partner):
    ComplianceCap.objects.all().delete()  # as `refnet demo --reset` leaves it
    partners = (
        [make_partner(f"Gym {i}", kind="local_business", category="gym_trainer")
         for i in range(3)]
        + [make_partner(f"Shop {i}", kind="local_business", category="shop") for i in range(2)]
        + [make_partner("Lakeside Clinic", kind="medical_practice")]
        + [make_partner(f"Dr. {n}", kind="clinician") for n in "ABCD"]
    )
    practice = SimpleNamespace(users=users)
    said = []
    now = datetime(2026, 11, 26, 12, tzinfo=ZoneInfo("America/New_York"))
    demo.build_demo(practice=practice, partners=partners, now=now, rng=random.Random(1),
                    say=said.append)
    decisions = list(Appreciation.objects.values_list("decision", flat=True))
    assert len(decisions) == 12
    assert decisions.count(DecisionKind.REFUSED) == 1
    assert decisions.count(DecisionKind.OVERRIDE) == 1
    assert ComplianceCap.objects.count() == 6
    assert program_get().enabled is False
    assert "Logged 12 appreciation entries" in said[0]
