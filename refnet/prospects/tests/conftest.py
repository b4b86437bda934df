import pytest

# Answers to every seeded question but convenience; by hand, with the seeded weights:
# populations 1 + .75 + .5 + .5 + 1 = 3.75, reason 1.5, volume 1, frequency .5,
# candidates 2, competitor (yes, inverted) 0 -> 8.75 of 14 answered weight.
ANSWERS = {
    "population_gender": 4, "population_age": 3, "population_lifestyle": 2,
    "population_occupation": 2, "population_philosophy": 4, "reason_to_refer": 3,
    "patient_volume": 2, "referral_frequency": 1, "enough_candidates": 1,
    "refers_to_competitor": 1,
}


@pytest.fixture
def answers():
    return dict(ANSWERS)
