"""A manager changes the weights: every scorecard is rescored, changed scores keep a
history row, and the weights keep theirs."""

import pytest
from django.core.exceptions import ValidationError

from refnet.prospects.models import FitCriterion, FitScoreVersion, ScoreReason
from refnet.prospects.selectors import weight_history
from refnet.prospects.services import fit_weights_set, scorecard_save

pytestmark = pytest.mark.django_db


def test_weight_change_rescores_and_keeps_history(make_partner, users, answers):
    a = scorecard_save(partner=make_partner("A"), answers=answers, by=users["outreach"])
    b = scorecard_save(partner=make_partner("B"), answers={"population_age": 4},
                       by=users["outreach"])
    assert (a.score, b.score) == (63, 100)
    # Competitor weight 1 -> 5 (A answered yes, so 0 of 5): 8.75 / 18 = 48.6 -> 49.
    # B only answered age: still 100, no new version.
    changed = fit_weights_set(weights={"refers_to_competitor": 5, "population_age": 1},
                              by=users["manager"])
    assert changed == 1
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.score, b.score) == (49, 100)
    version = a.versions.first()
    assert (version.previous_score, version.score, version.reason, version.by) == (
        63, 49, ScoreReason.WEIGHTS, users["manager"])
    assert version.weights["refers_to_competitor"] == 5
    assert b.versions.count() == 1

    [change] = weight_history()
    assert (change.question, change.old, change.new, change.by) == (
        "Do they already refer to a competitor?", 1, 5, users["manager"])


def test_weight_zero_drops_a_question(make_partner, users):
    card = scorecard_save(partner=make_partner(), by=users["outreach"],
                          answers={"population_age": 0, "patient_volume": 4})
    assert card.score == 67  # age 0 of weight 1, volume 2 of weight 2: 2 / 3 -> 67
    fit_weights_set(weights={"population_age": 0}, by=users["manager"])
    card.refresh_from_db()
    assert card.score == 100


def test_bad_weights_change_nothing(make_partner, users, answers):
    scorecard_save(partner=make_partner(), answers=answers, by=users["outreach"])
    with pytest.raises(ValidationError) as e:
        fit_weights_set(weights={"patient_volume": 3, "population_age": 11, "x": 1},
                        by=users["manager"])
    assert "“Age”: a weight is a whole number from 0 to 10, not 11." in e.value.messages
    assert "There is no question 'x' on the scorecard." in e.value.messages
    assert FitCriterion.objects.get(code="patient_volume").weight == 2
    assert FitScoreVersion.objects.count() == 1
    assert weight_history() == []


def test_unchanged_weights_write_nothing(users):
    assert fit_weights_set(weights={"patient_volume": 2}, by=users["manager"]) == 0
    assert weight_history() == []
