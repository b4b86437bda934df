"""The default follow-up rules (partner_kind blank): the values of
followups.rules.resolve.BUILTIN, written as rows so the settings page starts from them.

Numbered 0003 because the schema came as 0001 and 0002. Re-running is harmless: existing
rows (a manager's edits) are left as they are."""

from django.db import migrations

DEFAULTS = [
    # kind, enabled, due_days
    ("thank_referrer", True, 2),
    ("outcome_update", True, 2),
    ("progress_report", False, 2),
    ("check_in", True, 0),
    ("reengage", True, 5),
    ("ask_source", True, 1),
]


def create_defaults(apps, schema_editor):
    FollowUpRule = apps.get_model("followups", "FollowUpRule")
    for kind, enabled, due_days in DEFAULTS:
        FollowUpRule.objects.get_or_create(
            kind=kind, partner_kind="",
            defaults={"enabled": enabled, "due_days": due_days, "mode": "remind"},
        )


def remove_defaults(apps, schema_editor):
    FollowUpRule = apps.get_model("followups", "FollowUpRule")
    FollowUpRule.objects.filter(partner_kind="").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(create_defaults, remove_defaults),
    ]
