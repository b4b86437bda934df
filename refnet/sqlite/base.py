"""Django's SQLite backend, with one change: how a writer waits for the write lock.

SQLite has one writer at a time. With transaction_mode IMMEDIATE every write transaction
starts by taking the write lock (BEGIN IMMEDIATE); a writer that finds it taken is put to
sleep by SQLite's busy handler for 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, ...
between tries, so a request that arrives just after another took a 1 ms lock can sleep
for tens of milliseconds after the lock was free again (measured with four processes
appending audit rows: p99 42 ms for a 1 ms write).

Here BEGIN IMMEDIATE is tried with the busy handler off, and retried after 0.2 ms, 0.4 ms,
... at most 2 ms apart, until the same busy timeout (PRAGMA busy_timeout) has passed;
then it fails as before ("database is locked"). Every other statement keeps SQLite's own
busy handling. Nothing else changes: the lock is still SQLite's, so correctness does not
depend on this code.
"""

from __future__ import annotations

import logging
import time

from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3 import base

FIRST_PAUSE_S = 0.0002
LONGEST_PAUSE_S = 0.002
log = logging.getLogger("refnet.sqlite")


class DatabaseWrapper(base.DatabaseWrapper):
    busy_timeout_ms = 5000

    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        self.busy_timeout_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
        return conn

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode != "IMMEDIATE" or not self.busy_timeout_ms:
            super()._start_transaction_under_autocommit()
            return
        raw = self.connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            deadline = time.monotonic() + self.busy_timeout_ms / 1000
            pause = FIRST_PAUSE_S
            while True:
                try:
                    super()._start_transaction_under_autocommit()
                    return
                except OperationalError as error:
                    if "locked" not in str(error) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE_S)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")


def checkpoint(connection: BaseDatabaseWrapper) -> tuple[int, int] | None:
    """Copy the write-ahead log back into the database file (PASSIVE: it waits for no
    reader or writer; what it cannot copy now, the next one does). `refnet worker` calls
    this every tick so that requests do not have to (settings: wal_autocheckpoint).
    Returns (frames in the log, frames copied), or None for a database that is not
    SQLite."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        # Inside a transaction (a tick run by a test or a caller's atomic block) SQLite
        # refuses to checkpoint ("database table is locked"): the next tick does it.
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            _busy, log_frames, copied = cursor.fetchone()
    except OperationalError as error:
        # Housekeeping, never a reason to stop delivering: the next tick tries again.
        log.warning("WAL checkpoint skipped: %s", error)
        return None
    return log_frames, copied
