"""The audit trail of patient data: one row per patient per view, query, change or export.

Every audit row is written by audit_append / audit_append_values here, which chain it to
the row before (accounts.chain) while holding the chain head's lock, so that concurrent
writers never fork the chain (docs/audit.md).
"""

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from refnet.bulk import sqlite_insert_rows

from .chain import GENESIS, canonical_address, canonical_at, row_hash
from .models import AuditAction, AuditChainHead, AuditEvent

# The columns of one row given to audit_append_values, in this order.
VALUE_COLUMNS = ("at", "user_id", "username", "patient_id", "action", "what", "address", "path")
# Rows per INSERT statement: 10 parameters a row, under SQLite's 32,766 and PostgreSQL's
# 65,535 bound parameters.
_ROWS_PER_INSERT = {"sqlite": 3000, "postgresql": 5000}
_SQLITE_EXECUTEMANY_FROM = 200
# PostgreSQL: rows that differ only in patient and hashes (hex: nothing to escape), the
# varying columns as array literals, inserted in the arrays' order (ORDER BY the
# ordinality: ids follow the chain).
_PG_UNNEST_INSERT = (
    "INSERT INTO {table} (at, user_id, username, action, what, address, path, patient_id, "
    "prev_hash, hash) SELECT %s, %s, %s, %s, %s, %s::inet, %s, patient_id, prev_hash, hash "
    "FROM unnest(%s::text::bigint[], %s::text::text[], %s::text::text[]) "
    "WITH ORDINALITY AS u(patient_id, prev_hash, hash, n) ORDER BY n RETURNING id"
)

# PostgreSQL: one view's rows (the same but for the patient) in one statement, by the
# function that migration 0005 made: it locks the head, hashes, inserts and moves the head.
_PG_APPEND = ("SELECT refnet_audit_append(%s, %s, %s, %s, %s, %s, %s, %s, "
              "%s::text::bigint[])")
_PG_APPEND_MAX_ROWS = 5000


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in trusted if t.strip())


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from. REMOTE_ADDR, unless that is one of
    REFNET_TRUSTED_PROXIES: then X-Forwarded-For is read from the right, skipping the
    trusted proxies, and the first address that is not one of them is the client. Hops
    further left were written by the client itself and are never believed."""
    remote = _ip(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return None
    trusted = _networks(tuple(getattr(settings, "REFNET_TRUSTED_PROXIES", ())))

    def is_trusted(ip) -> bool:
        return any(ip.version == net.version and ip in net for net in trusted)

    if not is_trusted(remote):
        return str(remote)
    nearest = remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([h for h in hops if h.strip()]):
        ip = _ip(hop)
        if ip is None:
            break  # garbage where a proxy should have written an address: stop believing
        if not is_trusted(ip):
            return str(ip)
        nearest = ip
    return str(nearest)


def _head() -> AuditChainHead:
    """Lock the chain head (PostgreSQL: a row lock to the end of the transaction; SQLite:
    the caller's IMMEDIATE transaction already holds the only write lock). A missing head
    (a fresh or flushed database) is made from the last stored row."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(pk=1, last_id=last[0] if last else None,
                            last_hash=last[1] if last else GENESIS,
                            count=AuditEvent.objects.count())],
            ignore_conflicts=True)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _head_locked(cursor) -> str:
    """The chain head's last hash, locked for this transaction (PostgreSQL: the head row's
    lock; SQLite: the IMMEDIATE transaction already holds the only write lock). One plain
    statement: on SQLite every statement inside the write lock delays every other writer."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(f"SELECT last_hash FROM {table} WHERE id = 1{lock}")
    row = cursor.fetchone()
    return row[0] if row is not None else _head().last_hash


def audit_append_values(rows: Sequence[tuple]) -> int:
    """Append rows given as tuples in VALUE_COLUMNS order (`at` may be None for now):
    chain them in Python, insert them in one go, move the head. Returns how many.

    Everything that does not need the chain head is prepared before the transaction, so
    that the write lock is held for three statements and the hashing in between."""
    if not rows:
        return 0
    now = timezone.now()
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    head_table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    columns = (*VALUE_COLUMNS, "prev_hash", "hash")
    adapted: dict = {}  # a bulk append repeats one time: adapt it once
    prepared = []
    for at, user_id, username, patient_id, action, what, address, path in rows:
        at = at or now
        if at not in adapted:
            adapted[at] = connection.ops.adapt_datetimefield_value(at)
        prepared.append((at, adapted[at], user_id, username, patient_id, str(action), what,
                         canonical_address(address), path))
    if (connection.vendor == "postgresql" and len(prepared) <= _PG_APPEND_MAX_ROWS
            and _pg_append(prepared)):
        return len(prepared)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head_sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    per = _ROWS_PER_INSERT[connection.vendor]
    # savepoint=False: inside a caller's transaction (most writes) this costs no SAVEPOINT
    # round trips; a failure here fails the caller's transaction, as it should.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        prev = _head_locked(cursor)
        chained = []
        for at, at_db, user_id, username, patient_id, action, what, address, path in prepared:
            digest = row_hash(prev_hash=prev, at=at, user_id=user_id, username=username,
                              patient_id=patient_id, action=action, what=what,
                              address=address, path=path)
            chained.append((at_db, user_id, username, patient_id, action, what, address,
                            path, prev, digest))
            prev = digest
        last_id = None
        if (connection.vendor == "postgresql" and len(chained) > 1
                and len({row[:3] + row[4:8] for row in chained}) == 1):
            # One view's rows (audit_patients): the same but for the patient and the
            # hashes. Those go as three array literals, unnested in order: a short
            # statement psycopg keeps parsed, where a multi-row VALUES of 150 rows is
            # 1,500 placeholders that psycopg parses anew on every request (~3 ms of
            # Python on a board, ~1 ms for 50 rows), and building the literals is a join.
            same = chained[0]
            for start in range(0, len(chained), per):
                chunk = chained[start:start + per]
                cursor.execute(_PG_UNNEST_INSERT.format(table=table), [
                    *same[:3], *same[4:8],
                    "{" + ",".join("NULL" if row[3] is None else str(int(row[3]))
                                   for row in chunk) + "}",
                    "{" + ",".join(row[8] for row in chunk) + "}",
                    "{" + ",".join(row[9] for row in chunk) + "}",
                ])
                last_id = max(last_id or 0, *(r[0] for r in cursor.fetchall()))
            chained_left: list = []
        elif connection.vendor == "sqlite" and len(chained) > _SQLITE_EXECUTEMANY_FROM:
            # A bulk (an import batch): multi-row INSERTs on the driver's cursor
            # (refnet.bulk); under the lock, the highest id is the new head.
            sqlite_insert_rows(table, columns, chained)
            cursor.execute(f"SELECT MAX(id) FROM {table}")
            last_id = cursor.fetchone()[0]
            chained_left = []
        else:
            chained_left = chained
        # Multi-row INSERTs RETURNING the ids (SQLite >= 3.35 and PostgreSQL): the
        # highest is the new head, without another query.
        for start in range(0, len(chained_left), per):
            chunk = chained_left[start:start + per]
            cursor.execute(head_sql + ", ".join([one] * len(chunk)) + " RETURNING id",
                           [v for row in chunk for v in row])
            last_id = max(last_id or 0, *(r[0] for r in cursor.fetchall()))
        cursor.execute(f"UPDATE {head_table} SET last_id = %s, last_hash = %s, "
                       f"count = count + %s WHERE id = 1", [last_id, prev, len(chained)])
    return len(chained)


def _pg_append(prepared: list[tuple]) -> bool:
    """One round trip instead of five, when every row is the same but for the patient (a
    view, a query, a save). False, having written nothing, when the rows differ or the
    chain has no head row yet: the caller then chains them in Python."""
    at, at_db, user_id, username, _patient, action, what, address, path = prepared[0]
    if any(row[:4] != prepared[0][:4] or row[5:] != prepared[0][5:] for row in prepared):
        return False
    patients = "{" + ",".join("NULL" if row[4] is None else str(int(row[4]))
                              for row in prepared) + "}"
    with connection.cursor() as cursor:
        cursor.execute(_PG_APPEND, [at_db, canonical_at(at), user_id, username, action, what,
                                    address, path, patients])
        return cursor.fetchone()[0] is not None


def audit_append(events: Iterable[AuditEvent]) -> int:
    """Append unsaved AuditEvent instances (their ids are not set afterwards)."""
    return audit_append_values([
        (e.at, e.user_id, e.username, e.patient_id, e.action, e.what, e.address, e.path)
        for e in events
    ])


def audit_patients(
    *, request: HttpRequest | None, patient_ids: Iterable[int | None], action: AuditAction,
    what: str, actor: str | None = None, address: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record that `request.user` touched these patients. Written even when the list is empty
    for a query, so that a search that showed nobody is still on the record.

    Machine clients are not users: `actor` names them instead (an API key's audit_name, an
    HL7 sender), and without a request (an MLLP connection) `address` is the peer's."""
    user = None
    if actor is None and request is not None and request.user.is_authenticated:
        user = request.user
    username = (actor if actor is not None else (user.username if user else ""))[:150]
    ids = list(dict.fromkeys(pid for pid in patient_ids if pid is not None))
    where = client_address(request) if request is not None else address
    path = request.get_full_path()[:300] if request is not None else ""
    audit_append_values([
        (at, user.pk if user else None, username, pid, action, what[:200], where, path)
        for pid in (ids or ([None] if action == AuditAction.QUERY else []))
    ])


def audit_event(*, request: HttpRequest, action: AuditAction, what: str) -> None:
    """One row about no particular patient (an export of the audit log itself)."""
    audit_append_values([
        (None, request.user.pk, request.user.username[:150], None, action, what[:200],
         client_address(request), request.get_full_path()[:300])
    ])
