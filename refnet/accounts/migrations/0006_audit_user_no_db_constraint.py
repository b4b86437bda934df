"""PostgreSQL: the audit log's user column loses its database foreign key.

Every audit row checked it at commit: a `SELECT ... FOR KEY SHARE` of the user's row per
audit row (a busy group's 3-minute load: 367,000 of them), which also writes a row lock
into the user's tuple and, with several requests of one user at once, a multixact. The
rule it kept still holds: a user with audit rows cannot be deleted (on_delete=PROTECT,
which Django enforces), and every row names the user anyway (`username`).

SQLite keeps its constraint: its check is a cheap lookup without locks, and changing a
column there remakes the table, which would drop the append-only triggers."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "accounts_auditevent"
CONSTRAINT = "accounts_auditevent_user_id_94cf0a49_fk_accounts_user_id"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'ALTER TABLE "{TABLE}" DROP CONSTRAINT IF EXISTS "{CONSTRAINT}"')


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{CONSTRAINT}" FOREIGN KEY ("user_id") '
            f'REFERENCES "accounts_user" ("id") DEFERRABLE INITIALLY DEFERRED')


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_audit_append_function")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="user",
                    field=models.ForeignKey(
                        db_constraint=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT, related_name="+",
                        to=settings.AUTH_USER_MODEL),
                ),
            ],
            database_operations=[migrations.RunPython(drop, restore)],
        ),
    ]
