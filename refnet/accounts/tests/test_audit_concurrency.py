"""Several writers appending to the audit log at once never fork the chain (PostgreSQL,
where writers really run in parallel; SQLite serializes them with IMMEDIATE transactions)."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections

from refnet.accounts.audit import audit_append_values
from refnet.accounts.models import AuditAction, AuditChainHead, AuditEvent

THREADS, APPENDS, ROWS_PER_APPEND = 6, 25, 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_parallel_appends_keep_one_chain():
    start = threading.Barrier(THREADS)
    failures = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(APPENDS):
                audit_append_values([
                    (None, None, f"writer-{n}", n * 10_000 + i * 10 + j, AuditAction.VIEW,
                     f"patient:{n}/{i}/{j}", "10.0.0.1", "/t") for j in range(ROWS_PER_APPEND)])
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    total = THREADS * APPENDS * ROWS_PER_APPEND
    assert AuditEvent.objects.count() == total
    rows = list(AuditEvent.objects.order_by("id").values_list("prev_hash", "hash"))
    assert len({prev for prev, _ in rows}) == total  # no two rows claim the same parent
    assert all(rows[i][0] == rows[i - 1][1] for i in range(1, total))
    assert AuditChainHead.objects.get().count == total
    call_command("audit", "verify")  # raises CommandError on a break
    assert connection.vendor == "postgresql"
