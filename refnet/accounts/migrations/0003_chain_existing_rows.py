"""Chain the audit rows written before the chain existed, oldest id first, and record the
chain's head. Runs before the append-only triggers (0004) exist."""

from django.db import migrations

from refnet.accounts.chain import GENESIS, row_hash

BATCH = 5000


def chain_existing(apps, schema_editor):
    AuditEvent = apps.get_model("accounts", "AuditEvent")
    AuditChainHead = apps.get_model("accounts", "AuditChainHead")
    table = schema_editor.connection.ops.quote_name(AuditEvent._meta.db_table)
    prev, last_id, count = GENESIS, None, 0
    while True:
        batch = list(
            AuditEvent.objects.filter(**({"id__gt": last_id} if last_id else {}))
            .order_by("id")
            .values_list("id", "at", "user_id", "username", "patient_id", "action", "what",
                         "address", "path")[:BATCH]
        )
        if not batch:
            break
        updates = []
        for row_id, at, user_id, username, patient_id, action, what, address, path in batch:
            digest = row_hash(prev_hash=prev, at=at, user_id=user_id, username=username,
                              patient_id=patient_id, action=action, what=what,
                              address=address, path=path)
            updates.append((prev, digest, row_id))
            prev, last_id = digest, row_id
        count += len(batch)
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s",
                               updates)
    AuditChainHead.objects.all().delete()
    AuditChainHead.objects.create(pk=1, last_id=last_id, last_hash=prev, count=count)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_audit_chain")]

    operations = [migrations.RunPython(chain_existing, migrations.RunPython.noop)]
