"""CPU time spent by PostgreSQL for this process's connection, read from /proc (the server
runs on this machine in every benchmark).

The connection's server process (pg_backend_pid()) plus the children the postmaster has
reaped since (its cutime/cstime): parallel query workers exit when their query ends and
their time is added there, so a query that went parallel is counted whole. Anything else
that exits meanwhile (another session's backend closing, an autovacuum worker) is counted
too: measure with nothing else talking to the server. Clock ticks (10 ms) per reading, so
one short call is coarse; sums and means over many calls are right. 0 on SQLite or when
/proc cannot be read.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
_PATHS: dict[str, object] = {}


def _fields(path: Path) -> list[str]:
    # The command name (2nd field) may hold spaces; everything after its ")" is numbers.
    return path.read_text().rsplit(")", 1)[1].split()


def server_cpu_ms() -> float:
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    connection.ensure_connection()
    if _PATHS.get("connection") is not connection.connection:  # first call, or reconnected
        _PATHS["connection"] = connection.connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        _PATHS["backend"] = Path(f"/proc/{backend}/stat")
        # The postmaster is the backend's parent (4th field of stat; index 1 after ")").
        _PATHS["postmaster"] = Path(f"/proc/{_fields(_PATHS['backend'])[1]}/stat")
    try:
        own = _fields(_PATHS["backend"])
        reaped = _fields(_PATHS["postmaster"])
        # utime, stime are fields 14 and 15; cutime, cstime 16 and 17 (indexes 11-14 here).
        ticks = int(own[11]) + int(own[12]) + int(reaped[13]) + int(reaped[14])
        return ticks * _TICK_MS
    except (OSError, ValueError, IndexError):
        return 0.0
