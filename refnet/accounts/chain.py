"""The audit log's hash chain: how one row's hash is computed from its fields and the
previous row's hash. Pure functions, shared by the writer (accounts.audit), the data
migration that chained the rows written before the chain existed, and `refnet audit verify`.

Changing the encoding invalidates every stored hash: it would need a migration that
re-chains the log (and a note in docs/audit.md), so it is written down once, here.

The encoding is a compact JSON array, UTF-8, of

    [prev_hash, at, user_id, username, patient_id, action, what, address, path]

with `at` in UTC to the microsecond ("2026-12-05T00:31:07.123456Z") and the address in
Python's normal form (ipaddress), so that a row hashes the same before it is written and
after it is read back from SQLite or PostgreSQL.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

GENESIS = "0" * 64  # the prev_hash of the first row


@lru_cache(maxsize=4096)  # a bulk append repeats one address
def canonical_address(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


@lru_cache(maxsize=1024)  # ...and one time
def canonical_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(*, prev_hash: str, at: datetime, user_id: int | None, username: str,
             patient_id: int | None, action: str, what: str, address: str | None,
             path: str) -> str:
    encoded = _dumps([prev_hash, canonical_at(at), user_id, username, patient_id,
                      str(action), what, canonical_address(address), path]).encode()
    return hashlib.sha256(encoded).hexdigest()


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# The columns, in this order, that verify reads and row_hash takes.
COLUMNS = ("id", "prev_hash", "hash", "at", "user_id", "username", "patient_id", "action",
           "what", "address", "path")


@dataclass(frozen=True)
class Break:
    """One place where the stored log does not match its chain."""

    row_id: int | None
    kind: str  # "edited" | "link" | "tail"
    detail: str

    def __str__(self) -> str:
        where = f"row {self.row_id}" if self.row_id is not None else "end of log"
        return f"{where}: {self.detail}"


class ChainWalker:
    """Walks the stored rows (tuples in COLUMNS order, by ascending id), batch after batch,
    and lists a Break for each row whose content does not give its stored hash (edited) and
    each row whose prev_hash is not the hash of the row stored before it (a row deleted or
    inserted between them, or the earlier row rewritten with a recomputed hash). It goes on
    from the stored hash after a break, so one edited row is one break, not a cascade."""

    def __init__(self) -> None:
        self.prev_hash = GENESIS
        self.prev_id: int | None = None
        self.rows = 0

    def feed(self, rows) -> list[Break]:
        found = []
        for row in rows:
            (row_id, stored_prev, stored_hash, at, user_id, username, patient_id, action,
             what, address, path) = row
            self.rows += 1
            if stored_prev != self.prev_hash:
                after = (f"row {self.prev_id}" if self.prev_id is not None
                         else "the start of the log")
                found.append(Break(
                    row_id, "link",
                    f"does not follow {after}: its prev_hash {stored_prev[:12]}... is not "
                    f"the hash {self.prev_hash[:12]}... of {after} (a row was deleted or "
                    f"inserted between them, or {after} was rewritten)"))
            computed = row_hash(prev_hash=stored_prev, at=at, user_id=user_id,
                                username=username, patient_id=patient_id, action=action,
                                what=what, address=address, path=path)
            if computed != stored_hash:
                found.append(Break(row_id, "edited",
                                   "its content does not match its hash (the row was edited)"))
            self.prev_hash, self.prev_id = stored_hash, row_id
        return found
