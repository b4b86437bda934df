"""The demo's prospects rows: scorecards with history and stage moves that agree with
each partner's stage; deterministic from the seed; criteria restored after a wipe."""

import random

import pytest
from django.utils import timezone

from refnet.practice.demo import Practice
from refnet.prospects import demo
from refnet.prospects.models import FitCriterion, FitScorecard, FitScoreVersion, StageChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice_partners(users, location, make_partner):
    stages = ["prospect", "contacted", "engaged", "active", "declined"]
    partners = [make_partner(f"Partner {i}", stage=stages[i % 5], owner=users["outreach"])
                for i in range(30)]
    return Practice(locations=[location], service_lines=[], users=users), partners


def run(practice, partners, seed="x"):
    demo.build_demo(practice=practice, partners=partners, now=timezone.now(),
                    rng=random.Random(seed), say=lambda text: None)


def test_demo_scorecards_and_moves(practice_partners):
    practice, partners = practice_partners
    FitCriterion.objects.all().delete()  # as `refnet demo --reset` leaves it
    run(practice, partners)
    assert FitCriterion.objects.count() == 11
    cards = FitScorecard.objects.select_related("partner")
    assert cards.count() == 15
    assert {c.partner.stage for c in cards} <= {"prospect", "contacted", "engaged"}
    assert FitScoreVersion.objects.count() == 20  # every third was saved twice
    for change in StageChange.objects.select_related("partner"):
        last = StageChange.objects.filter(partner=change.partner).order_by("-at").first()
        assert last.to_stage == change.partner.stage


def test_demo_is_deterministic(practice_partners):
    practice, partners = practice_partners
    run(practice, partners)
    first = sorted(FitScorecard.objects.values_list("partner_id", "score"))
    FitScorecard.objects.all().delete()
    StageChange.objects.all().delete()
    run(practice, partners)
    assert sorted(FitScorecard.objects.values_list("partner_id", "score")) == first
