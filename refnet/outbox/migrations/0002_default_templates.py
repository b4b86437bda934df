"""The default message templates (refnet/outbox/defaults.py). Existing rows are left as a
manager edited them; reversing leaves the templates in place."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    from refnet.outbox.defaults import DEFAULT_TEMPLATES

    MessageTemplate = apps.get_model("outbox", "MessageTemplate")
    for default in DEFAULT_TEMPLATES:
        MessageTemplate.objects.get_or_create(
            purpose=default["purpose"], channel=default["channel"],
            audience=default["audience"],
            defaults={"subject": default["subject"], "body": default["body"]},
        )


class Migration(migrations.Migration):
    dependencies = [("outbox", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
