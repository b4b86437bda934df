"""The audit log is append-only: triggers refuse UPDATE and DELETE of its rows on SQLite
and PostgreSQL (and TRUNCATE on PostgreSQL). There is no switch to turn them off from the
app; an operator who must remove rows (a court order) drops the triggers by hand, and
`refnet audit verify` then shows the gap. docs/audit.md."""

from django.db import migrations

TABLE = "accounts_auditevent"
REFUSED = "accounts_auditevent is append-only"

SQLITE_UP = [
    f"CREATE TRIGGER audit_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END",
    f"CREATE TRIGGER audit_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE refused'); END",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"]

POSTGRES_UP = [
    f"""CREATE OR REPLACE FUNCTION refnet_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{REFUSED}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$""",
    f"CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION refnet_audit_append_only()",
    f"CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION refnet_audit_append_only()",
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS audit_no_update_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS audit_no_truncate ON {TABLE}",
    "DROP FUNCTION IF EXISTS refnet_audit_append_only()",
]

BY_VENDOR = {"sqlite": (SQLITE_UP, SQLITE_DOWN), "postgresql": (POSTGRES_UP, POSTGRES_DOWN)}


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql, params=None)


def up(apps, schema_editor):
    _run(schema_editor, BY_VENDOR[schema_editor.connection.vendor][0])


def down(apps, schema_editor):
    _run(schema_editor, BY_VENDOR[schema_editor.connection.vendor][1])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_chain_existing_rows")]

    operations = [migrations.RunPython(up, down)]
