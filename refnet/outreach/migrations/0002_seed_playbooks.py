"""The starting playbooks for each local-business category (outreach/playbooks.py)."""

from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    from refnet.outreach.playbooks import DEFAULT_PLAYBOOKS

    Playbook = apps.get_model("outreach", "Playbook")
    for spec in DEFAULT_PLAYBOOKS:
        fields = dict(spec, default_cost=Decimal(spec["default_cost"]))
        name = fields.pop("name")
        Playbook.objects.get_or_create(name=name, defaults=fields)


def unseed(apps, schema_editor):
    from refnet.outreach.playbooks import DEFAULT_PLAYBOOKS

    Playbook = apps.get_model("outreach", "Playbook")
    Playbook.objects.filter(name__in=[p["name"] for p in DEFAULT_PLAYBOOKS],
                            events__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("outreach", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
