"""Import an NPPES registry file (npidata_pfile_*.csv): stream it, keep the columns and
states the finder needs, validate each kept row, and write in batches that can resume.

How one import runs (nppes_import):
1. Recognize the file (size + sha256 of its first and last MiB) and find its columns by
   NAME in the header; a file missing a required column is refused before anything is
   written, with the missing names.
2. Strict mode first reads the whole file without writing: one malformed row (of a kept
   state) and nothing is imported; the errors are listed.
3. Read records from the last checkpoint (byte offset, physical line). Each batch of
   BATCH_ROWS records is ONE transaction: its providers upserted on NPI, its deactivations
   applied, and the import's checkpoint and counters saved. A kill -9 loses at most the
   batch in flight; a re-run with resume=True starts after the last committed batch, and
   the upsert makes a replayed row harmless (no duplicates).
4. A malformed row (bad NPI, entity type, name, ZIP, taxonomy, wrong column count) is
   skipped whole, never half-written, and listed as [line, field, message]; the line is
   the record's first physical line in the file (the header is line 1).
5. At the end, organization sizes are recomputed for the states touched, and the import
   is marked done.

Speed: parsing and validation live in ../nppes_parse.py (no Django). For a big file
(PIPELINE_MIN_BYTES left to read) they run in a second process, `python -m
refnet.registry.nppes_parse`, which sends finished batches (upsert-ready tuples, errors,
counters, checkpoint) down a pipe while this process writes: the parse is ~2/3 of the
CPU, so two cores share the work. The checkpoint is still committed by this process in
the same transaction as its batch, so resuming is exactly as safe as before.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from refnet.pipe import Child
from refnet.practice.models import ZipCentroid

from .. import nppes_parse
from ..models import ERRORS_KEPT, ImportKind, ImportStatus, RegistryImport, RegistryProvider
from ..nppes_parse import (  # noqa: F401 - re-exported: views, tests and commands use them
    COLUMNS,
    TAXONOMY_RE,
    Batch,
    ImportRefused,
    Layout,
    npi_ok,
    read_batches,
    read_header,
    site_key,
)

BATCH_ROWS = 10_000
STALE_AFTER = timedelta(minutes=2)  # a "running" import this quiet was killed
# Above this many bytes left to read (~40,000 rows), a second process reads and validates
# while this one writes (the machine needs 2 cores for it to pay).
PIPELINE_MIN_BYTES = 48 << 20
# With at least READERS blocks left, READERS reader processes take turns over blocks of
# BLOCK_BYTES (~28,000 records: three batches, which fit in the pipe's queues, so the next
# block is read while this process writes the current one).
READERS = 2
BLOCK_BYTES = 32 << 20


def file_fingerprint(path: Path) -> tuple[int, str]:
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(size - (1 << 20))
            digest.update(fh.read())
    return size, digest.hexdigest()


# Rows per multi-row INSERT: 16 columns each, under SQLite's parameter cap (32,766 since
# 3.32; 999 before).
SQLITE_ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 50
TABLE = RegistryProvider._meta.db_table


def _upsert_sql(rows: int = 1, mark: str = "%s") -> str:
    names = ", ".join(COLUMNS)
    values = ", ".join(["(" + ", ".join([mark] * len(COLUMNS)) + ")"] * rows)
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in ("npi", "org_size"))
    return (f"INSERT INTO {TABLE} ({names}) VALUES {values} "
            f"ON CONFLICT (npi) DO UPDATE SET {updates}")


def _write_providers(cursor, rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        names = ", ".join(COLUMNS)
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS registry_load "
                       f"(LIKE {TABLE} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        cursor.execute("TRUNCATE registry_load")  # inside an outer transaction it keeps rows
        with cursor.cursor.copy(f"COPY registry_load ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS
                            if c not in ("npi", "org_size"))
        cursor.execute(f"INSERT INTO {TABLE} ({names}) SELECT {names} FROM registry_load "
                       f"ON CONFLICT (npi) DO UPDATE SET {updates}")
        return
    # SQLite: multi-row INSERTs straight on the sqlite3 connection (inside Django's
    # transaction), skipping the per-call %s -> ? rewrite of Django's cursor.
    raw = connection.connection
    per = SQLITE_ROWS_PER_INSERT
    full = len(rows) - len(rows) % per
    if full:
        sql = _upsert_sql(per, "?")
        for start in range(0, full, per):
            raw.execute(sql, list(itertools.chain.from_iterable(rows[start:start + per])))
    if full < len(rows):
        raw.executemany(_upsert_sql(1, "?"), rows[full:])


def _commit_batch(record: RegistryImport, batch: Batch) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            _write_providers(cursor, batch.rows)
            if batch.deactivated:
                cursor.executemany(f"UPDATE {TABLE} SET deactivated = %s WHERE npi = %s",
                                   [(True, npi) for npi in batch.deactivated])
        room = ERRORS_KEPT - len(record.errors)
        if room > 0 and batch.errors:
            record.errors = record.errors + batch.errors[:room]
        record.bytes_done, record.lines_done = batch.offset, batch.line
        record.rows_read += batch.read
        record.rows_kept += batch.kept
        record.rows_skipped += batch.error_count
        record.rows_deactivated += len(batch.deactivated)
        record.error_count += batch.error_count
        record.save()


def org_sizes_update(states: list[str] | None = None) -> None:
    """Individual providers per practice site, for every provider at a site (1 if alone)."""
    where = ""
    params: list = []
    if states:
        where = f" AND {TABLE}.state IN ({', '.join(['%s'] * len(states))})"
        params = list(states)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and connection.in_atomic_block:
            # The grouping and the join over a whole state spill to disk at the default 4 MB
            # (measured, 1M rows: 6.0 s -> 4.2 s for that part with 64 MB); this
            # transaction only.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            f"UPDATE {TABLE} SET org_size = COALESCE(NULLIF(sizes.n, 0), 1) FROM "
            f"(SELECT site_key, COUNT(*) AS n FROM {TABLE} WHERE entity_type = 1 "
            f"AND deactivated = %s AND site_key <> '' GROUP BY site_key) AS sizes "
            f"WHERE {TABLE}.site_key = sizes.site_key AND {TABLE}.org_size <> sizes.n"
            f"{where}", [False, *params])


def zip_centroids() -> dict[str, tuple[float, float]]:
    return {z: (float(lat), float(lng)) for z, lat, lng in
            ZipCentroid.objects.values_list("zip_code", "latitude", "longitude")}


def parse_states(text: str | None) -> list[str]:
    states = sorted({s.strip().upper() for s in re.split(r"[\s,;]+", text or "") if s.strip()})
    bad = [s for s in states if not re.fullmatch(r"[A-Z]{2}", s)]
    if bad:
        raise ImportRefused(f"{', '.join(bad)}: a state is two letters, e.g. CO,WY.")
    return states


def unfinished_import(fingerprint: str) -> RegistryImport | None:
    return (RegistryImport.objects.filter(kind=ImportKind.NPPES, fingerprint=fingerprint)
            .exclude(status=ImportStatus.DONE).order_by("-pk").first())


def nppes_import(*, path: Path | str, states: list[str] | None = None, strict: bool = False,
                 resume: bool = False, restart: bool = False, by=None,
                 record: RegistryImport | None = None, batch_rows: int = BATCH_ROWS,
                 progress: Callable[[RegistryImport], None] | None = None) -> RegistryImport:
    """Import (or resume) one NPPES file; returns its RegistryImport. Refuses a file that
    is not in the NPPES layout with ImportRefused (and a failed RegistryImport saying so
    when one was passed in). `progress` is called after each committed batch."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path} is not a file.")
    size, fingerprint = file_fingerprint(path)
    if record is None:
        previous = unfinished_import(fingerprint)
        if previous is not None and not restart:
            if not resume:
                raise ImportRefused(
                    f"An import of this file stopped at line {previous.lines_done:,} "
                    f"({previous.get_status_display().lower()}, import #{previous.pk}). "
                    "Run again with --resume to continue it, or --restart to start over.")
            if (previous.status == ImportStatus.RUNNING
                    and previous.updated_at > timezone.now() - STALE_AFTER):
                raise ImportRefused(f"Import #{previous.pk} of this file is running now.")
            record = previous
        elif resume and previous is None:
            raise ImportRefused("There is no unfinished import of this file to resume.")
        if previous is not None and restart:
            RegistryImport.objects.filter(pk=previous.pk).update(
                status=ImportStatus.FAILED, message="Restarted from the beginning.")
    if record is None:
        record = RegistryImport.objects.create(
            kind=ImportKind.NPPES, file_name=path.name[:255], path=str(path)[:500],
            size=size, fingerprint=fingerprint, states=" ".join(states or []), strict=strict,
            started_by=by)
    else:
        if record.bytes_done and record.fingerprint and record.fingerprint != fingerprint:
            raise ImportRefused("The file changed since this import started; start a new "
                                "import instead of resuming.")
        record.size, record.fingerprint = size, fingerprint
        record.status, record.ended_at = ImportStatus.RUNNING, None
        record.save()
    kept_states = frozenset(record.states.split())
    try:
        layout, header_bytes = read_header(path)
    except ImportRefused as refusal:
        _finish(record, ImportStatus.FAILED, str(refusal))
        raise
    try:
        if record.strict and record.bytes_done == 0:
            read, malformed, errors = _validate_only(path, layout, header_bytes, kept_states)
            if malformed:
                record.errors = errors
                record.error_count = malformed
                record.rows_read = read
                _finish(record, ImportStatus.FAILED,
                        f"Strict: {malformed:,} malformed rows, so nothing was "
                        "imported.")
                return record
        _run(record, path, layout, header_bytes, kept_states, batch_rows, progress)
    except KeyboardInterrupt:
        _finish(record, ImportStatus.PAUSED, "Interrupted; resume continues after the last "
                                             "committed batch.")
        raise
    except Exception as error:
        _finish(record, ImportStatus.FAILED, f"Stopped: {error}"[:2000])
        raise
    return record


def _finish(record: RegistryImport, status: str, message: str) -> None:
    record.status, record.message, record.ended_at = status, message, timezone.now()
    record.save()


def _validate_only(path: Path, layout: Layout, header_bytes: int,
                   states: frozenset[str]) -> tuple[int, int, list[list]]:
    """Rows read, malformed rows and the first ERRORS_KEPT of them, writing nothing."""
    read = count = 0
    errors: list[list] = []
    for batch in read_batches(path, offset=header_bytes, line=1, layout=layout,
                              states=states, centroids={}, batch_rows=BATCH_ROWS):
        read += batch.read
        count += batch.error_count
        errors.extend(batch.errors[:max(ERRORS_KEPT - len(errors), 0)])
    return read, count, errors


def _batches(path: Path, options: dict) -> Iterator[Batch]:
    """read_batches(path, **options), in this process for a small file or what is left of
    one, else in READERS other processes (`python -m refnet.registry.nppes_parse`) that
    read and validate while this one writes. The readers take turns over blocks of
    BLOCK_BYTES cut at record starts (nppes_parse.read_blocks); this process takes the
    blocks in file order, so batches, checkpoints and "last row wins" are exactly as with
    one reader, and turns each block's line numbers (counted from its start) into the
    file's."""
    left = path.stat().st_size - options["offset"]
    cores = os.cpu_count() or 1
    if left < PIPELINE_MIN_BYTES or cores < 2:
        yield from read_batches(path, **options)
        return
    workers = READERS if left >= READERS * BLOCK_BYTES else 1
    wire = {key: value for key, value in options.items() if key not in ("layout", "line")}
    wire.update(path=str(path), workers=workers, block_bytes=BLOCK_BYTES)
    readers: list[Child] = []
    try:
        # Each reader starts at once; a thread per reader takes its batches off the pipe
        # (a few ahead: a reader never waits for a commit), and this one writes them.
        for index in range(workers):
            readers.append(Child("refnet.registry.nppes_parse", {**wire, "index": index},
                                 name="nppes"))
        streams = [iter(reader) for reader in readers]
        line_before = options["line"]  # the file's line just before the current block
        block = 0
        while True:
            turn = block % workers
            item = next(streams[turn], None)
            if item is None:  # no block `block`: the file is done
                return
            number, batch = nppes_parse.from_wire(item)
            if number != block:
                raise RuntimeError(f"reader {turn} sent block {number}, expected {block}")
            for error in batch.errors:
                error[0] += line_before
            batch.line += line_before
            yield batch
            if batch.read < options["batch_rows"]:  # a block's last batch
                line_before = batch.line
                block += 1
    finally:
        for reader in readers:
            reader.close()


def _run(record: RegistryImport, path: Path, layout: Layout, header_bytes: int,
         states: frozenset[str], batch_rows: int,
         progress: Callable[[RegistryImport], None] | None) -> None:
    options = {"offset": record.bytes_done or header_bytes, "line": record.lines_done or 1,
               "layout": layout, "states": states, "centroids": zip_centroids(),
               "batch_rows": batch_rows}
    batches = _batches(path, options)
    try:
        for batch in batches:
            _commit_batch(record, batch)
            if progress is not None and batch.read >= batch_rows:
                progress(record)
    finally:
        batches.close()  # stops the reader process if the writer failed
    with transaction.atomic():
        org_sizes_update(sorted(states) if states else None)
        kept, bad = record.rows_kept, record.error_count
        done = f"{kept:,} provider{'' if kept == 1 else 's'} imported"
        if bad:
            done += (f"; {bad:,} malformed row{'' if bad == 1 else 's'} skipped "
                     "(listed by line)")
        _finish(record, ImportStatus.DONE, done + ".")
    if progress is not None:
        progress(record)


def nppes_import_in_background(record: RegistryImport) -> None:
    """Run an uploaded file's import in a thread of this process (the page polls it)."""

    from django.db import connections

    def work() -> None:
        try:
            nppes_import(path=record.path, record=record)
        except Exception:  # the record says what happened
            pass
        finally:
            connections.close_all()

    threading.Thread(target=work, name=f"nppes-import-{record.pk}", daemon=True).start()


