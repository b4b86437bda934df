"""The source partner's index gains removed_at, so that counting a partner's live referrals
of a period reads the index alone; the foreign key's own index, which that index's first
column already serves, goes.

The field change is made in the migration state only: on SQLite, altering a column remakes
the table, which would drop the reports' rollup triggers on it. The database only loses
the index, by the name Django gave it (the same on SQLite and PostgreSQL)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("partners", "0006_partner_live_by_name"),
        ("referrals", "0010_live_indexes_partial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(fields=["source_partner", "received_at", "removed_at"],
                               name="referral_source_received"),
        ),
        migrations.RemoveIndex(
            model_name="referral",
            name="referrals_r_source__56b478_idx",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="referral",
                    name="source_partner",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referrals", to="partners.partner"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "referrals_referral_source_partner_id_4c97e143"',
                    reverse_sql='CREATE INDEX "referrals_referral_source_partner_id_4c97e143" '
                                'ON "referrals_referral" ("source_partner_id")',
                ),
            ],
        ),
    ]
