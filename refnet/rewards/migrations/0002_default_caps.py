"""Seed the compliance caps and the (off) patient referral program from defaults.py, with
a first history version each (the historical models have no save signal here)."""

from django.db import migrations
from django.utils import timezone


def _first_version(historical, row, fields):
    historical.objects.create(
        id=row.pk, history_date=timezone.now(), history_type="+", history_user=None,
        **{name: getattr(row, name) for name in fields},
    )


def seed(apps, schema_editor):
    from refnet.rewards.defaults import DEFAULT_CAPS, DEFAULTS_REVIEWED_ON

    ComplianceCap = apps.get_model("rewards", "ComplianceCap")
    HistoricalComplianceCap = apps.get_model("rewards", "HistoricalComplianceCap")
    ReferralProgram = apps.get_model("rewards", "ReferralProgram")
    HistoricalReferralProgram = apps.get_model("rewards", "HistoricalReferralProgram")
    for key, year, amount, source in DEFAULT_CAPS:
        cap, created = ComplianceCap.objects.get_or_create(
            key=key, year=year,
            defaults={"amount": amount, "source": source, "reviewed_on": DEFAULTS_REVIEWED_ON},
        )
        if created:
            _first_version(HistoricalComplianceCap, cap,
                           ["key", "year", "amount", "source", "reviewed_on"])
    program, created = ReferralProgram.objects.get_or_create(pk=1, defaults={"enabled": False})
    if created:
        _first_version(HistoricalReferralProgram, program,
                       ["enabled", "reward_description", "sign_off_text"])


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
