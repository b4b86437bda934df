"""Saving a scorecard: the score with the seeded weights, convenience from the nearest
location, refusals that name the question, and a history row per save."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from refnet.practice.models import Location
from refnet.prospects.models import FitCriterion, FitScorecard, FitScoreVersion, ScoreReason
from refnet.prospects.services import nearest_location, scorecard_save

pytestmark = pytest.mark.django_db


def test_seeded_questions_and_weights():
    rows = list(FitCriterion.objects.values_list("code", "kind", "weight", "inverted"))
    assert len(rows) == 11
    assert ("refers_to_competitor", "yes_no", 1, True) in rows
    assert ("convenience", "distance", 2, False) in rows
    assert sum(r[2] for r in rows) == 16


def test_partner_without_coordinates_scores_over_answered_questions(
        make_partner, users, answers, location):
    partner = make_partner("Peak Physical Therapy")
    card = scorecard_save(partner=partner, answers=answers, why_refer=" They lack a gym. ",
                          by=users["outreach"])
    # 8.75 / 14 = 62.5 -> 63; convenience unknown
    assert card.score == 63
    assert card.distance_miles is None and card.nearest_location is None
    assert card.why_refer == "They lack a gym."
    version = card.versions.get()
    assert (version.score, version.previous_score, version.by, version.reason) == (
        63, None, users["outreach"], ScoreReason.ANSWERS)
    assert version.weights["convenience"] == 2


def test_nearest_active_location_gives_convenience(make_partner, users, answers, location):
    # The fixture location is at (39.7990, -89.6440). 0.05° of latitude north = 3.45 mi:
    # "up to 5 mi" band, 3 of 4 points -> (8.75 + 1.5) / 16 = 64.06 -> 64
    Location.objects.create(name="Far Clinic", latitude=40.9, longitude=-89.6440)
    Location.objects.create(name="Closed Clinic", latitude=39.8491, longitude=-89.6440,
                            is_active=False)
    partner = make_partner("Near PT", latitude=Decimal("39.849000"),
                           longitude=Decimal("-89.644000"))
    loc, miles = nearest_location(partner)
    assert loc == location and miles == Decimal("3.45")
    card = scorecard_save(partner=partner, answers=answers, by=users["outreach"])
    assert card.score == 64
    assert card.nearest_location == location


def test_second_save_keeps_both_versions(make_partner, users, answers):
    partner = make_partner()
    first = timezone.now() - timedelta(days=3)
    scorecard_save(partner=partner, answers={"population_age": 2}, by=users["outreach"],
                   now=first)
    card = scorecard_save(partner=partner, answers=answers, by=users["manager"])
    assert FitScorecard.objects.count() == 1
    newest, oldest = list(card.versions.all())
    assert (oldest.previous_score, oldest.score) == (None, 50)
    assert (newest.previous_score, newest.score, newest.by) == (50, 63, users["manager"])


def test_dont_know_is_dropped_from_answers(make_partner, users):
    card = scorecard_save(partner=make_partner(), by=users["outreach"],
                          answers={"population_age": "", "patient_volume": "4",
                                   "enough_candidates": None})
    assert card.answers == {"patient_volume": 4}
    assert card.score == 100


@pytest.mark.parametrize("answers, message", [
    ({"population_age": 5}, "“Age”: answer 0 to 4, not 5."),
    ({"enough_candidates": 2}, "answer yes or no, not 2."),
    ({"patient_volume": "lots"}, "not 'lots'."),
    ({"nonsense": 1}, "There is no question 'nonsense' on the scorecard."),
    ({"convenience": 4}, "is computed from the distance, not answered."),
])
def test_bad_answers_are_refused_naming_the_question(make_partner, users, answers, message):
    partner = make_partner()
    with pytest.raises(ValidationError) as e:
        scorecard_save(partner=partner, answers=answers, by=users["outreach"])
    assert any(message in m for m in e.value.messages)
    assert not FitScorecard.objects.exists() and not FitScoreVersion.objects.exists()
