"""The append-only triggers of the audit log (created by migration 0004), for code that must
lift them for a moment: the test suite's flush between transactional tests, and tests that
tamper with rows to show `refnet audit verify` finds it. The app itself never calls this."""

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

_migration = importlib.import_module("refnet.accounts.migrations.0004_audit_append_only")


@contextmanager
def audit_triggers_lifted(using: str = "default") -> Iterator[None]:
    connection = connections[using]
    up, down = _migration.BY_VENDOR[connection.vendor]
    with connection.cursor() as cursor:
        for sql in down:
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in up:
                cursor.execute(sql)
