"""The fit score as a pure function, against answers scored by hand."""

from fractions import Fraction

import pytest

from refnet.prospects.scoring import (
    Criterion,
    answer_fraction,
    distance_points,
    fit_score,
    haversine_miles,
)

# The seeded questions and their starting weights (migration 0002).
DEFAULT = [
    Criterion("population_gender", "scale", 1),
    Criterion("population_age", "scale", 1),
    Criterion("population_lifestyle", "scale", 1),
    Criterion("population_occupation", "scale", 1),
    Criterion("population_philosophy", "scale", 1),
    Criterion("reason_to_refer", "scale", 2),
    Criterion("patient_volume", "scale", 2),
    Criterion("referral_frequency", "scale", 2),
    Criterion("enough_candidates", "yes_no", 2),
    Criterion("refers_to_competitor", "yes_no", 1, inverted=True),
    Criterion("convenience", "distance", 2),
]

ANSWERS = {
    "population_gender": 4, "population_age": 3, "population_lifestyle": 2,
    "population_occupation": 2, "population_philosophy": 4,  # 1 + .75 + .5 + .5 + 1 = 3.75
    "reason_to_refer": 3,       # 2 × 3/4 = 1.5
    "patient_volume": 2,        # 2 × 2/4 = 1
    "referral_frequency": 1,    # 2 × 1/4 = 0.5
    "enough_candidates": 1,     # yes: 2 × 1 = 2
    "refers_to_competitor": 1,  # yes, inverted: 1 × 0 = 0
}


def test_every_question_answered_and_three_and_a_half_miles_away():
    # 3.4 mi is in the "up to 5 mi" band: 3 of 4 points, 2 × 3/4 = 1.5.
    # (3.75 + 1.5 + 1 + 0.5 + 2 + 0 + 1.5) / 16 = 10.25 / 16 = 64.06 -> 64
    result = fit_score(DEFAULT, ANSWERS, distance_miles=3.4)
    assert result.score == 64
    assert result.unknown == []
    assert result.earned["refers_to_competitor"] == 0
    assert result.earned["convenience"] == Fraction(3, 2)


def test_unknown_distance_is_left_out_and_the_score_renormalised():
    # Without coordinates: 8.75 / 14 = 62.5 -> 63 (half up, not to even)
    result = fit_score(DEFAULT, ANSWERS, distance_miles=None)
    assert result.score == 63
    assert result.unknown == ["convenience"]


def test_dont_know_answers_are_left_out_too():
    # Only gender 4 (w1) and competitor "no" (inverted: full points, w1): 2 / 2 = 100
    result = fit_score(DEFAULT, {"population_gender": 4, "refers_to_competitor": 0})
    assert result.score == 100
    assert "patient_volume" in result.unknown


def test_nothing_known_means_no_score_not_zero():
    assert fit_score(DEFAULT, {}).score is None
    # A known answer scoring nothing is a real zero.
    assert fit_score(DEFAULT, {"population_age": 0}).score == 0


def test_zero_weight_leaves_a_question_out():
    criteria = [Criterion("a", "scale", 0), Criterion("b", "scale", 3)]
    # a = 0 would drag the score down if it counted; b = 2/4 -> 50
    assert fit_score(criteria, {"a": 0, "b": 2}).score == 50
    assert fit_score(criteria, {"a": 4}).score is None


def test_weights_change_the_score():
    criteria = [Criterion("a", "scale", 1), Criterion("b", "scale", 3)]
    # (1 × 4/4 + 3 × 1/4) / 4 = 1.75 / 4 = 43.75 -> 44
    assert fit_score(criteria, {"a": 4, "b": 1}).score == 44
    criteria = [Criterion("a", "scale", 3), Criterion("b", "scale", 1)]
    # (3 × 1 + 1 × 1/4) / 4 = 3.25 / 4 = 81.25 -> 81
    assert fit_score(criteria, {"a": 4, "b": 1}).score == 81


@pytest.mark.parametrize("miles, points", [
    (0, 4), (2, 4), (2.01, 3), (5, 3), (5.5, 2), (10, 2), (10.01, 1), (20, 1), (20.1, 0),
    (250, 0), (None, None),
])
def test_distance_bands(miles, points):
    assert distance_points(miles) == points


def test_inverted_scale_question():
    c = Criterion("x", "scale", 1, inverted=True)
    assert answer_fraction(c, 1) == Fraction(3, 4)
    assert answer_fraction(c, None) is None


def test_haversine_between_known_points():
    # Springfield IL (39.7990, -89.6440) to Chicago Loop (41.8781, -87.6298): about 178 mi
    assert haversine_miles(39.7990, -89.6440, 41.8781, -87.6298) == pytest.approx(178, abs=2)
    assert haversine_miles(39.8, -89.6, 39.8, -89.6) == 0
    # One hundredth of a degree of latitude is 0.69 mi
    assert haversine_miles(39.80, -89.6, 39.81, -89.6) == pytest.approx(0.691, abs=0.001)
