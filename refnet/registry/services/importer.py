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

Speed: the NPPES file quotes every value, so a record without embedded quotes or newlines
(nearly all of them) is split with str.split('","', n) up to the last column needed,
checked first by counting its quotes and separators; anything else goes through
csv.reader, which handles embedded quotes, commas and newlines.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from refnet.practice.models import ZipCentroid

from ..models import ERRORS_KEPT, ImportKind, ImportStatus, RegistryImport, RegistryProvider
from ..nppes_layout import FIELDS, OPTIONAL, TAXONOMY_SLOTS

BATCH_ROWS = 10_000
STALE_AFTER = timedelta(minutes=2)  # a "running" import this quiet was killed

TAXONOMY_RE = re.compile(r"[0-9]{3}[0-9A-Z]{6}X")
_DOUBLE = {str(d): (2 * d if d < 5 else 2 * d - 9) for d in range(10)}
_SINGLE = {str(d): d for d in range(10)}


class ImportRefused(Exception):
    """The file cannot be imported as asked (message says why); nothing was written."""


def npi_ok(npi: str) -> bool:
    """10 digits with a Luhn check digit over the prefix 80840 (worth 24)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    d, s = _DOUBLE, _SINGLE
    total = (24 + d[npi[0]] + s[npi[1]] + d[npi[2]] + s[npi[3]] + d[npi[4]] + s[npi[5]]
             + d[npi[6]] + s[npi[7]] + d[npi[8]] + s[npi[9]])
    return total % 10 == 0


def site_key(zip5: str, address: str) -> str:
    """Who shares a practice site: the ZIP and the address, upper case, punctuation out."""
    if not address:
        return ""
    return (zip5 + " " + " ".join(address.upper().replace(".", "").replace(",", "")
                                  .replace("#", "").split()))[:140]


def file_fingerprint(path: Path) -> tuple[int, str]:
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(size - (1 << 20))
            digest.update(fh.read())
    return size, digest.hexdigest()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # the real file has Latin-1 bytes here and there
        return raw.decode("latin-1")


class Lines:
    """Decoded physical lines of a binary file, counting bytes and lines consumed."""

    def __init__(self, fh, offset: int, line: int) -> None:
        self.fh, self.offset, self.line = fh, offset, line

    def __iter__(self) -> Iterator[str]:
        for raw in self.fh:
            self.offset += len(raw)
            self.line += 1
            yield _decode(raw)


@dataclass
class Layout:
    columns: int
    index: dict[str, int]
    last_needed: int
    getter: Callable
    taxonomy_getter: Callable
    switch_getter: Callable
    reactivation: int | None

    @classmethod
    def from_header(cls, header: list[str]) -> Layout:
        names = [h.strip().lstrip("\ufeff") for h in header]
        position = {}
        for i, name in enumerate(names):
            position.setdefault(name.lower(), i)
        index, missing = {}, []
        for key, name in FIELDS.items():
            if name.lower() in position:
                index[key] = position[name.lower()]
            elif key not in OPTIONAL:
                missing.append(name)
        if missing:
            shown = ", ".join(f'"{m}"' for m in missing[:6])
            more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            raise ImportRefused(
                f"This is not an NPPES file in the npidata_pfile layout: the header has no "
                f"{shown}{more} column{'s' if len(missing) > 1 else ''}. Nothing was imported.")
        base = ["npi", "entity_type", "organization_name", "last_name", "first_name",
                "credential", "address_line", "city", "state", "postal_code", "phone",
                "deactivation_date"]
        slots = range(1, TAXONOMY_SLOTS + 1)
        return cls(
            columns=len(names), index=index, last_needed=max(index.values()),
            getter=itemgetter(*[index[k] for k in base]),
            taxonomy_getter=itemgetter(*[index[f"taxonomy_{n}"] for n in slots]),
            switch_getter=itemgetter(*[index[f"primary_{n}"] for n in slots]),
            reactivation=index.get("reactivation_date"),
        )


@dataclass
class Batch:
    providers: dict[str, tuple] = field(default_factory=dict)
    deactivated: list[str] = field(default_factory=list)
    errors: list[list] = field(default_factory=list)
    error_count: int = 0
    read: int = 0
    kept: int = 0
    skipped: int = 0


COLUMNS = ("npi", "entity_type", "name", "credential", "address_line", "city", "state",
           "zip5", "phone", "primary_taxonomy", "other_taxonomies", "latitude", "longitude",
           "site_key", "org_size", "deactivated")
# Rows per multi-row INSERT: 16 columns each, under SQLite's parameter cap (32,766 since
# 3.32; 999 before).
SQLITE_ROWS_PER_INSERT = 500 if sqlite3.sqlite_version_info >= (3, 32) else 50
TABLE = RegistryProvider._meta.db_table


def _date(text: str) -> datetime | None:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    return None


class RowReader:
    """Records of the file as (first line, list of values), fast path or csv.reader."""

    def __init__(self, lines: Lines, layout: Layout) -> None:
        self.lines, self.layout = lines, layout
        self.quotes = 2 * layout.columns
        self.separators = layout.columns - 1
        self.split_at = layout.last_needed + 1
        self.last_is_needed = self.split_at >= self.separators

    def __iter__(self) -> Iterator[tuple[int, list[str] | None, int]]:
        """(first line, values or None when malformed, number of columns found)"""
        quotes, separators, split_at = self.quotes, self.separators, self.split_at
        lines = self.lines
        source = iter(lines)
        for text in source:
            first = lines.line
            if (text.count('"') == quotes and text.count('","') == separators
                    and text[0] == '"'):
                parts = text.split('","', split_at)
                parts[0] = parts[0][1:]
                if self.last_is_needed:
                    parts[-1] = parts[-1].rstrip("\r\n")[:-1]
                yield first, parts, self.layout.columns
                continue
            if not text.strip():
                continue
            try:
                row = next(csv.reader(itertools.chain([text], source)))
            except (csv.Error, StopIteration):
                yield first, None, 0
                continue
            yield first, (row if len(row) == self.layout.columns else None), len(row)


def _error(batch: Batch, line: int, fieldname: str, message: str) -> None:
    batch.error_count += 1
    batch.skipped += 1
    batch.errors.append([line, fieldname, message])


def parse_into(batch: Batch, line: int, row: list[str] | None, found: int, layout: Layout,
               states: frozenset[str], centroids: dict[str, tuple[float, float]]) -> None:
    """Validate one record and add it to the batch (or an error, or a deactivation)."""
    batch.read += 1
    if row is None:
        what = f"{found} columns" if found else "an unreadable record (unclosed quote?)"
        _error(batch, line, "row", f"has {what}; the header has {layout.columns}")
        return
    (npi, entity, org, last, first, credential, address, city, state, postal, phone,
     deactivated_on) = layout.getter(row)
    npi = npi.strip()
    state = state.strip().upper()
    if deactivated_on:
        reactivated_on = row[layout.reactivation] if layout.reactivation is not None else ""
        if not reactivated_on or (_date(reactivated_on) or datetime.min) < (
                _date(deactivated_on) or datetime.min):
            if npi_ok(npi):
                batch.deactivated.append(npi)
            return
    if states and state not in states:
        return
    if not npi_ok(npi):
        _error(batch, line, FIELDS["npi"], f"{npi[:20]!r} is not a valid NPI (check digit)")
        return
    if entity == "1":
        last = last.strip()
        if not last:
            _error(batch, line, FIELDS["last_name"], "is empty")
            return
        first, credential = first.strip(), credential.strip()
        name = f"{first} {last}".strip() + (f", {credential}" if credential else "")
    elif entity == "2":
        org = org.strip()
        if not org:
            _error(batch, line, FIELDS["organization_name"], "is empty")
            return
        name = org
    else:
        _error(batch, line, FIELDS["entity_type"], f"{entity[:10]!r} is not 1 or 2")
        return
    zip5 = postal.strip()[:5]
    if len(zip5) != 5 or not zip5.isdigit():
        _error(batch, line, FIELDS["postal_code"], f"{postal[:20]!r} is not a ZIP code")
        return
    codes = layout.taxonomy_getter(row)
    taxonomies = [c for c in codes if c]
    if not taxonomies:
        _error(batch, line, FIELDS["taxonomy_1"], "no taxonomy code")
        return
    for code in taxonomies:
        if not TAXONOMY_RE.fullmatch(code):
            _error(batch, line, FIELDS[f"taxonomy_{codes.index(code) + 1}"],
                   f"{code[:20]!r} is not a NUCC code like 207X00000X")
            return
    switches = layout.switch_getter(row)
    primary = codes[switches.index("Y")] if "Y" in switches else taxonomies[0]
    if not primary:
        primary = taxonomies[0]
    others = " ".join(c for c in taxonomies if c != primary)
    address = address.strip()
    lat, lng = centroids.get(zip5, (None, None))
    batch.kept += 1
    batch.providers[npi] = (
        int(npi), int(entity), name[:200], credential[:40], address[:120],
        city.strip()[:60], state[:2], zip5, phone.strip()[:20], primary, others[:180], lat,
        lng, site_key(zip5, address), 1, False)


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


def _commit_batch(record: RegistryImport, batch: Batch, lines: Lines) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            _write_providers(cursor, list(batch.providers.values()))
            if batch.deactivated:
                cursor.executemany(f"UPDATE {TABLE} SET deactivated = %s WHERE npi = %s",
                                   [(True, int(npi)) for npi in batch.deactivated])
        room = ERRORS_KEPT - len(record.errors)
        if room > 0 and batch.errors:
            record.errors = record.errors + batch.errors[:room]
        record.bytes_done, record.lines_done = lines.offset, lines.line
        record.rows_read += batch.read
        record.rows_kept += batch.kept
        record.rows_skipped += batch.skipped
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


def read_header(path: Path) -> tuple[Layout, int]:
    with path.open("rb") as fh:
        raw = fh.readline()
    if not raw.strip():
        raise ImportRefused(f"{path.name} is empty.")
    header = next(csv.reader([_decode(raw)]))
    return Layout.from_header(header), len(raw)


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
            errors = _validate_only(path, layout, header_bytes, kept_states)
            if errors.error_count:
                record.errors = errors.errors[:ERRORS_KEPT]
                record.error_count = errors.error_count
                record.rows_read = errors.read
                _finish(record, ImportStatus.FAILED,
                        f"Strict: {errors.error_count:,} malformed rows, so nothing was "
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
                   states: frozenset[str]) -> Batch:
    batch = Batch()
    centroids: dict = {}
    with path.open("rb") as fh:
        fh.seek(header_bytes)
        for line, row, found in RowReader(Lines(fh, header_bytes, 1), layout):
            parse_into(batch, line, row, found, layout, states, centroids)
            batch.providers.clear()
            del batch.errors[ERRORS_KEPT:]
    return batch


def _run(record: RegistryImport, path: Path, layout: Layout, header_bytes: int,
         states: frozenset[str], batch_rows: int,
         progress: Callable[[RegistryImport], None] | None) -> None:
    centroids = zip_centroids()
    offset = record.bytes_done or header_bytes
    line = record.lines_done or 1
    with path.open("rb", buffering=1 << 20) as fh:
        fh.seek(offset)
        lines = Lines(fh, offset, line)
        batch = Batch()
        for line_no, row, found in RowReader(lines, layout):
            parse_into(batch, line_no, row, found, layout, states, centroids)
            if batch.read >= batch_rows:
                _commit_batch(record, batch, lines)
                batch = Batch()
                if progress is not None:
                    progress(record)
        _commit_batch(record, batch, lines)
    with transaction.atomic():
        org_sizes_update(sorted(states) if states else None)
        done = f"{record.rows_kept:,} providers imported"
        if record.error_count:
            done += f"; {record.error_count:,} malformed rows skipped (listed by line)"
        _finish(record, ImportStatus.DONE, done + ".")
    if progress is not None:
        progress(record)


def nppes_import_in_background(record: RegistryImport) -> None:
    """Run an uploaded file's import in a thread of this process (the page polls it)."""
    import threading

    from django.db import connections

    def work() -> None:
        try:
            nppes_import(path=record.path, record=record)
        except Exception:  # the record says what happened
            pass
        finally:
            connections.close_all()

    threading.Thread(target=work, name=f"nppes-import-{record.pk}", daemon=True).start()


