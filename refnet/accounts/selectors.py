"""Reads of the audit log: the chain check, and the filtered, keyset-paged list that the
audit page and its CSV export share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .chain import COLUMNS, Break, ChainWalker
from .models import AuditChainHead, AuditEvent

VERIFY_BATCH = 10_000


@dataclass
class ChainReport:
    rows: int = 0
    last_id: int | None = None
    last_hash: str = ""
    breaks: list[Break] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


def audit_chain_verify(*, max_breaks: int = 100) -> ChainReport:
    """Walk the whole log by id, batch by batch (memory stays flat on millions of rows), and
    compare where it ends with the chain head."""
    walker = ChainWalker()
    report = ChainReport()
    after = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=after).order_by("id")
                     .values_list(*COLUMNS)[:VERIFY_BATCH])
        if not batch:
            break
        report.breaks.extend(walker.feed(batch))
        after = batch[-1][0]
    report.rows, report.last_id, report.last_hash = walker.rows, walker.prev_id, walker.prev_hash
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_id, head.last_hash, head.count) != (
            report.last_id, report.last_hash, report.rows):
        report.breaks.append(Break(
            report.last_id, "tail",
            f"the log ends at row {report.last_id} with {report.rows} rows, but the chain head "
            f"recorded row {head.last_id} with {head.count} rows (rows were cut off the end, "
            f"or added without the chain)"))
    del report.breaks[max_breaks:]
    return report


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    patient_id: int | None = None
    action: str = ""
    since: date | None = None
    until: date | None = None  # inclusive, in the practice's time zone

    def queryset(self) -> QuerySet[AuditEvent]:
        rows = AuditEvent.objects.all()
        if self.username:
            rows = rows.filter(username=self.username)
        if self.patient_id is not None:
            rows = rows.filter(patient_id=self.patient_id)
        if self.action:
            rows = rows.filter(action=self.action)
        zone = timezone.get_current_timezone()
        if self.since:
            rows = rows.filter(at__gte=datetime.combine(self.since, time.min, zone))
        if self.until:
            rows = rows.filter(at__lt=datetime.combine(self.until + timedelta(days=1),
                                                       time.min, zone))
        return rows


def audit_page(*, where: AuditFilter, before: int | None, size: int = 50
               ) -> tuple[list[AuditEvent], int | None]:
    """One page, newest first, and the id to continue before (None on the last page).
    Keyset paging: `id < before ORDER BY id DESC LIMIT size+1` reads an index range, so the
    1,000th page costs what the first does (an OFFSET would read every row skipped)."""
    rows = where.queryset()
    if before is not None:
        rows = rows.filter(id__lt=before)
    found = list(rows.order_by("-id")[:size + 1])
    more = len(found) > size
    found = found[:size]
    return found, (found[-1].pk if more and found else None)


def audit_rows_iter(*, where: AuditFilter, batch: int = 2000) -> Iterator[tuple]:
    """Every matching row, newest first, in keyset batches (for the streamed CSV)."""
    fields = ("id", "at", "username", "user_id", "action", "patient_id", "what", "address",
              "path", "hash")
    before = None
    while True:
        rows = where.queryset()
        if before is not None:
            rows = rows.filter(id__lt=before)
        chunk = list(rows.order_by("-id").values_list(*fields)[:batch])
        if not chunk:
            return
        yield from chunk
        before = chunk[-1][0]
