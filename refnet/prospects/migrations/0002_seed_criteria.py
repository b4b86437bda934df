"""The scorecard's questions with their starting weights (a manager changes weights later).

Frozen here rather than imported, so this migration means the same thing forever."""

from django.db import migrations

POPULATION = "Do our patient populations match?"
CRITERIA = [
    # code, question, group, kind, low label, high label, inverted, weight
    ("population_gender", "Gender", POPULATION, "scale",
     "Not at all", "Fully", False, 1),
    ("population_age", "Age", POPULATION, "scale", "Not at all", "Fully", False, 1),
    ("population_lifestyle", "Lifestyle", POPULATION, "scale",
     "Not at all", "Fully", False, 1),
    ("population_occupation", "Occupation", POPULATION, "scale",
     "Not at all", "Fully", False, 1),
    ("population_philosophy", "Philosophy of care", POPULATION, "scale",
     "Not at all", "Fully", False, 1),
    ("reason_to_refer", "Do they have a reason to refer to us?", "Referral potential",
     "scale", "None", "A strong one", False, 2),
    ("patient_volume", "How many patients do they see?", "Referral potential", "scale",
     "Very few", "A great many", False, 2),
    ("referral_frequency", "How often would they have a patient for us?",
     "Referral potential", "scale", "Rarely", "Every week", False, 2),
    ("enough_candidates", "Do they see enough candidates for what we offer?",
     "Referral potential", "yes_no", "No", "Yes", False, 2),
    ("refers_to_competitor", "Do they already refer to a competitor?", "Competition",
     "yes_no", "No", "Yes", True, 1),
    ("convenience", "How convenient is our nearest location for their patients?",
     "Convenience", "distance", "Over 20 miles", "Within 2 miles", False, 2),
]


def seed(apps, schema_editor):
    FitCriterion = apps.get_model("prospects", "FitCriterion")
    for position, (code, question, group, kind, low, high, inverted, weight) in enumerate(
        CRITERIA
    ):
        FitCriterion.objects.update_or_create(code=code, defaults={
            "question": question, "group": group, "kind": kind, "low_label": low,
            "high_label": high, "inverted": inverted, "weight": weight,
            "position": position * 10,
        })


def unseed(apps, schema_editor):
    apps.get_model("prospects", "FitCriterion").objects.filter(
        code__in=[c[0] for c in CRITERIA]).delete()


class Migration(migrations.Migration):
    dependencies = [("prospects", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
