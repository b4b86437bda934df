"""Seed the complementary-specialty table with sensible pairs (managers edit it later).

(taxonomy code or prefix, what they are, practice offers keyword, weight)
A blank keyword means "whatever the practice offers": primary care refers to everyone.
"""

from decimal import Decimal

from django.db import migrations

PAIRS = [
    # Primary care sends to every specialty the practice offers.
    ("207Q", "Family medicine", "", "1.00"),
    ("207R", "Internal medicine", "", "1.00"),
    ("208D00000X", "General practice", "", "0.90"),
    ("2080", "Pediatrics", "", "0.90"),
    ("363LF0000X", "Nurse practitioner, family", "", "0.80"),
    ("363LP2300X", "Nurse practitioner, primary care", "", "0.80"),
    ("363A", "Physician assistant", "", "0.70"),
    # Orthopaedics <-> physical therapy <-> chiropractic, and their neighbours.
    ("2251", "Physical therapy", "orthop", "1.00"),
    ("111N", "Chiropractic", "orthop", "0.80"),
    ("207QS0010X", "Sports medicine (family medicine)", "orthop", "0.90"),
    ("213E", "Podiatry", "orthop", "0.70"),
    ("2081", "Physical medicine & rehabilitation", "orthop", "0.70"),
    ("2255A2300X", "Athletic trainer", "orthop", "0.70"),
    ("207X", "Orthopaedic surgery", "physical therapy", "1.00"),
    ("111N", "Chiropractic", "physical therapy", "0.70"),
    ("207QS0010X", "Sports medicine (family medicine)", "physical therapy", "0.90"),
    ("2081", "Physical medicine & rehabilitation", "physical therapy", "0.80"),
    ("2084N0400X", "Neurology", "physical therapy", "0.60"),
    ("213E", "Podiatry", "physical therapy", "0.60"),
    ("207X", "Orthopaedic surgery", "chiropractic", "0.80"),
    ("2251", "Physical therapy", "chiropractic", "0.80"),
    ("2255A2300X", "Athletic trainer", "sports", "0.90"),
    ("207X", "Orthopaedic surgery", "sports", "0.90"),
    ("2251", "Physical therapy", "sports", "0.90"),
    ("207QS0010X", "Sports medicine (family medicine)", "sports", "0.80"),
    ("2084N0400X", "Neurology", "pain", "0.80"),
    ("2081", "Physical medicine & rehabilitation", "pain", "0.80"),
    ("208VP0014X", "Interventional pain medicine", "pain", "0.70"),
    ("207LP2900X", "Pain medicine (anesthesiology)", "pain", "0.70"),
    ("2084N0400X", "Neurology", "spine", "0.80"),
]


def seed(apps, schema_editor):
    Pair = apps.get_model("registry", "ComplementaryPair")
    for taxonomy, label, offers, weight in PAIRS:
        Pair.objects.get_or_create(taxonomy=taxonomy, practice_offers=offers,
                                   defaults={"label": label, "weight": Decimal(weight)})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
