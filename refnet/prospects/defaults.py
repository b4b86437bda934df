"""The scorecard's questions as shipped. Migration 0002 seeds a frozen copy; this one
puts back any that are missing (after `refnet demo --reset` empties the tables)."""

from __future__ import annotations

POPULATION = "Do our patient populations match?"
POTENTIAL = "Referral potential"
CRITERIA = [
    # code, question, group, kind, low label, high label, inverted, weight
    ("population_gender", "Gender", POPULATION, "scale", "Not at all", "Fully", False, 1),
    ("population_age", "Age", POPULATION, "scale", "Not at all", "Fully", False, 1),
    ("population_lifestyle", "Lifestyle", POPULATION, "scale", "Not at all", "Fully", False,
     1),
    ("population_occupation", "Occupation", POPULATION, "scale", "Not at all", "Fully",
     False, 1),
    ("population_philosophy", "Philosophy of care", POPULATION, "scale", "Not at all",
     "Fully", False, 1),
    ("reason_to_refer", "Do they have a reason to refer to us?", POTENTIAL, "scale", "None",
     "A strong one", False, 2),
    ("patient_volume", "How many patients do they see?", POTENTIAL, "scale", "Very few",
     "A great many", False, 2),
    ("referral_frequency", "How often would they have a patient for us?", POTENTIAL,
     "scale", "Rarely", "Every week", False, 2),
    ("enough_candidates", "Do they see enough candidates for what we offer?", POTENTIAL,
     "yes_no", "No", "Yes", False, 2),
    ("refers_to_competitor", "Do they already refer to a competitor?", "Competition",
     "yes_no", "No", "Yes", True, 1),
    ("convenience", "How convenient is our nearest location for their patients?",
     "Convenience", "distance", "Over 20 miles", "Within 2 miles", False, 2),
]


def criteria_ensure() -> int:
    """Create the shipped questions that are missing (weights of existing ones are kept);
    returns how many were made."""
    from .models import FitCriterion

    made = 0
    for position, (code, question, group, kind, low, high, inverted, weight) in enumerate(
        CRITERIA
    ):
        _, created = FitCriterion.objects.get_or_create(code=code, defaults={
            "question": question, "group": group, "kind": kind, "low_label": low,
            "high_label": high, "inverted": inverted, "weight": weight,
            "position": position * 10,
        })
        made += created
    return made
