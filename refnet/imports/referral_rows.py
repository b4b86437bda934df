"""Referral rows, the fast path: checked one by one, matched and written BATCH at a time.

Per row: every mapped cell is checked (dates, enums, NPI, email, phone, lengths); the
source partner is found by NPI, else by name (exact folded name or alias, else the best
fuzzy match >= SOURCE_MATCH), from dictionaries built once; the location and service
line by name. A row naming no source at all is saved with its source unresolved (the
ask-again list). A source that matches nobody is an error unless the job says
create_sources, in which case it is created once through referrals.inbound
provider_match_or_create (a clinician when the row has an NPI, else a medical practice).

Per batch: rows imported before (same key under the system "import:<source>") are
counted and skipped; the key is the row id column when mapped, else a hash of the row's
mapped cells. Patients are matched like referrals.inbound does it (their id in the source
system, then MRN, then last name + first name + birth date) against the database and the
patients this import already made; the others are created. Then Patients, their
identifiers, Referrals (in received order), ReferralIdentifiers, one ReferralEvent each
("Imported", at the received time, to the row's status) and one audit row per patient per
import are inserted as plain tuples with multi-row INSERTs. The rollups count
the referrals (on SQLite once per transaction, see _Rollups); rules_tick turns the events
into follow-ups. docs/import.md, "Speed", says why each step is shaped as it is.
"""

from __future__ import annotations

import gc
import hashlib
import re
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from rapidfuzz import fuzz, process

from refnet.accounts.audit import audit_append_values
from refnet.accounts.models import AuditAction
from refnet.bulk import sqlite_insert_rows
from refnet.partners.models import Partner, PartnerAlias
from refnet.partners.search import fold
from refnet.practice.models import Location, ServiceLine
from refnet.referrals.inbound import ProviderIn, provider_match_or_create
from refnet.referrals.models import (
    ArrivalChannel,
    Outcome,
    ReferralIdentifier,
    ReferralStatus,
    SourceStatus,
)
from refnet.reports.rollup import STAGE_TIMES

from . import cleaning, dates
from .cleaning import CellError
from .models import ImportMode
from .reading import cell_text

BATCH = 20000
# _IndexesAside: rebuild the indexes when the import adds at least this share of the rows
# already in the referral table, and at least REBUILD_MIN_ROWS rows.
REBUILD_SHARE = 0.5
REBUILD_MIN_ROWS = 50_000
SOURCE_MATCH = 90
PRIORITIES = [("routine", "Routine"), ("urgent", "Urgent"), ("stat", "STAT")]
SEXES = [("F", "Female"), ("M", "Male"), ("X", "Other")]
SEX_SYNONYMS = {"woman": "F", "man": "M", "w": "F", "u": "X", "unknown": "X", "o": "X"}
STATUS_SYNONYMS = {"new": "received", "open": "received", "booked": "scheduled",
                   "won": "closed_won", "lost": "closed_lost", "closed won": "closed_won",
                   "closed lost": "closed_lost"}
PATIENT_TEXT = {"first_name": 100, "last_name": 100, "mrn": 30, "patient_external_id": 200}
REFERRAL_TEXT = {"source_text": 200, "reason": 5000, "diagnosis": 200, "row_id": 200,
                 "source_name": 200}


def referral_setup_problems(job) -> str:
    if "location" not in job.mapping and Location.objects.filter(is_active=True).count() != 1:
        return ("Choose the Location column: the practice has several locations, so each "
                "row must say which one.")
    return ""


@dataclass
class Lookups:
    tz: object
    locations: dict[str, int]
    location_names: str
    default_location: int | None
    service_lines: dict[str, int]
    service_line_names: str
    by_npi: dict[str, int]
    by_name: dict[str, int]
    names: list[str]
    name_ids: list[int]
    fuzzy: dict[str, int | None] = field(default_factory=dict)
    enums: tuple = field(default_factory=lambda: (
        ("sex", cleaning.Choices(SEXES, SEX_SYNONYMS), ""),
        ("priority", cleaning.Choices(PRIORITIES), "routine"),
        ("status", cleaning.Choices(ReferralStatus.choices, STATUS_SYNONYMS),
         ReferralStatus.RECEIVED.value),
        ("outcome", cleaning.Choices(Outcome.choices), "")))
    folded: dict[str, str] = field(default_factory=dict)
    created_sources: dict[tuple, int] = field(default_factory=dict)
    # Patients this import made: their keys -> id.
    made_ext: dict[str, int] = field(default_factory=dict)
    made_mrn: dict[str, int] = field(default_factory=dict)
    made_name: dict[tuple, int] = field(default_factory=dict)
    seen_keys: set[str] = field(default_factory=set)
    # False when the source system had no imported referrals when the import started and
    # the whole import is one transaction: no earlier import can hold a key then.
    keys_before: bool = True
    audited: set[int] = field(default_factory=set)  # patients with their audit row
    aside: _IndexesAside | None = None  # all or nothing on SQLite (see _IndexesAside)

    @classmethod
    def build(cls) -> Lookups:
        locations = {fold(n): pk for pk, n in Location.objects.values_list("id", "name")}
        active = list(Location.objects.filter(is_active=True).values_list("id", flat=True))
        lines = {fold(n): pk for pk, n in ServiceLine.objects.values_list("id", "name")}
        survivors: dict[int, int | None] = dict(
            Partner.objects.values_list("id", "merged_into_id"))

        def live(pk: int) -> int:
            for _ in range(20):
                nxt = survivors.get(pk)
                if nxt is None:
                    return pk
                pk = nxt
            return pk

        by_npi: dict[str, int] = {}
        by_name: dict[str, int] = {}
        for pk, name, npi, merged in Partner.objects.order_by("merged_into_id", "id") \
                .values_list("id", "name", "npi", "merged_into_id"):
            if npi:
                by_npi.setdefault(npi, live(pk))
            if merged is None:
                by_name.setdefault(fold(name), pk)
        for pk, name in PartnerAlias.objects.values_list("partner_id", "name"):
            by_name.setdefault(fold(name), live(pk))
        by_name.pop("", None)
        return cls(
            tz=timezone.get_default_timezone(), locations=locations,
            location_names=", ".join(Location.objects.order_by("name")
                                     .values_list("name", flat=True)[:20]),
            default_location=active[0] if len(active) == 1 else None,
            service_lines=lines,
            service_line_names=", ".join(ServiceLine.objects.order_by("name")
                                         .values_list("name", flat=True)[:20]),
            by_npi=by_npi, by_name=by_name, names=list(by_name), name_ids=list(by_name.values()))

    def fold(self, text: str) -> str:
        """partners.search.fold, remembered for the few distinct names of a column."""
        found = self.folded.get(text)
        if found is None:
            found = fold(text)
            if len(self.folded) < 50000:
                self.folded[text] = found
        return found

    def partner_by_name(self, name: str) -> int | None:
        key = self.fold(name)
        if not key:
            return None
        if key in self.by_name:
            return self.by_name[key]
        if key not in self.fuzzy:
            best = process.extractOne(key, self.names, scorer=fuzz.token_sort_ratio,
                                      score_cutoff=SOURCE_MATCH)
            self.fuzzy[key] = self.name_ids[best[2]] if best else None
        return self.fuzzy[key]


def _aware(moment: datetime | date, tz) -> datetime:
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            return moment
        return moment.replace(tzinfo=tz)
    return datetime(moment.year, moment.month, moment.day, tzinfo=tz)


def _row_key(run, cells: list, row_id: str) -> str:
    if row_id:
        return row_id
    digest = hashlib.sha1(usedforsecurity=False)
    for target in sorted(run.columns):
        if target != "row_id":
            digest.update(cell_text(run.cell(cells, target)).encode("utf-8", "replace"))
            digest.update(b"\x1f")
    return "h:" + digest.hexdigest()[:24]


# "(303) 555-0101", "303-555-0101", "303.555.0101", "3035550101": the usual spellings,
# accepted without the general check (cleaning.phone) that handles everything else.
PHONE_FAST = re.compile(r"^\(?(\d{3})\)?[-. ]?(\d{3})[-. ]?(\d{4})$")
CACHE_MAX = 200_000  # distinct values remembered per column (dates, NPIs, phones...)


def _remember(cache: dict, key, value):
    if len(cache) < CACHE_MAX:
        cache[key] = value
    return value


def make_cleaner(run, lk: Lookups, now: datetime) -> Callable[[int, list], dict | None]:
    """clean(line, cells) -> the row's values, or None after reporting its problems.

    Built once per file: column positions, caches and checks are bound here so the
    per-row work is a few list reads and dictionary lookups. A column holds few distinct
    dates, NPIs, codes and places, so each distinct value is checked once (its result, or
    its error message, is remembered); phone numbers in the usual spellings skip the
    general check."""
    columns = run.columns
    texts = tuple((t, columns[t], n) for t, n in {**PATIENT_TEXT, **REFERRAL_TEXT}.items()
                  if t in columns)
    blank = dict.fromkeys({**PATIENT_TEXT, **REFERRAL_TEXT}, "")
    orders = run.date_orders
    received_order = orders.get("received", dates.MDY)
    birth_order = orders.get("birth_date", dates.MDY)
    at_received, at_birth = columns.get("received"), columns.get("birth_date")
    at_phone, at_email = columns.get("patient_phone"), columns.get("patient_email")
    at_npi = columns.get("source_npi")
    at_location, at_line = columns.get("location"), columns.get("service_line")
    enums = tuple((t, columns.get(t), choices, default) for t, choices, default in lk.enums)
    tz, ops = lk.tz, connection.ops
    adapt_dt, adapt_date = ops.adapt_datetimefield_value, ops.adapt_datefield_value
    latest, today = now + timedelta(days=1), now.date()
    received_seen: dict = {}
    birth_seen: dict = {}
    npi_seen: dict = {}
    location_seen: dict = {}
    line_seen: dict = {}
    create_sources = bool(run.job.options.get("create_sources"))
    folded = lk.folded

    def received_of(value):
        """(aware datetime, its database form, received_month) or an error message."""
        try:
            moment = dates.parse_moment(value, received_order)
        except (ValueError, OverflowError) as exc:
            return str(exc)
        if moment is None:
            return "is empty; every referral needs its received date"
        received = _aware(moment, tz)
        if received > latest:
            return f"{received:%Y-%m-%d} is in the future"
        if received.year < 1990:
            return f"{received:%Y-%m-%d} is too long ago"
        local = received.astimezone(tz)
        return received, adapt_dt(received), local.year * 100 + local.month

    def birth_of(value):
        """(date or None, its database form) or an error message."""
        try:
            birth = dates.parse_date(value, birth_order)
        except (ValueError, OverflowError) as exc:
            return str(exc)
        if birth is not None and (birth > today or birth.year < 1900):
            return f"{birth:%Y-%m-%d} cannot be a birth date"
        return birth, adapt_date(birth)

    def npi_of(value):
        try:
            return (cleaning.npi(value),)
        except CellError as exc:
            return str(exc)

    def location_of(text: str):
        return lk.locations.get(lk.fold(text))

    def service_line_of(text: str):
        return lk.service_lines.get(lk.fold(text))

    def clean(line: int, cells: list) -> dict | None:
        size = len(cells)
        problems: list[tuple[str, str]] = []
        r = {**blank, "line": line}
        for target, index, max_length in texts:
            if index >= size:
                continue
            value = cells[index]
            value = value.strip() if value.__class__ is str else cell_text(value)
            r[target] = value
            if len(value) > max_length:
                problems.append((target, f"is {len(value)} characters long; at most "
                                         f"{max_length} fit"))
        # Dates.
        value = cells[at_received] if at_received is not None and at_received < size else ""
        found = received_seen.get(value) if value.__class__ is str else None
        if found is None:
            found = received_of(value)
            if value.__class__ is str:
                _remember(received_seen, value, found)
        if found.__class__ is str:
            problems.append(("received", found))
        else:
            r["received"], r["received_db"], r["received_month"] = found
        value = cells[at_birth] if at_birth is not None and at_birth < size else ""
        found = birth_seen.get(value) if value.__class__ is str else None
        if found is None:
            found = birth_of(value)
            if value.__class__ is str:
                _remember(birth_seen, value, found)
        if found.__class__ is str:
            problems.append(("birth_date", found))
        else:
            r["birth_date"], r["birth_db"] = found
        # Phone, email, NPI.
        value = cells[at_phone] if at_phone is not None and at_phone < size else ""
        if value.__class__ is str and (m := PHONE_FAST.match(value)):
            r["patient_phone"], r["phone_digits"] = value, m[1] + m[2] + m[3]
        else:
            try:
                phone = cleaning.phone(value)
                r["patient_phone"], r["phone_digits"] = phone, cleaning.phone_digits(phone)
            except CellError as exc:
                problems.append(("patient_phone", str(exc)))
        value = cells[at_email] if at_email is not None and at_email < size else ""
        if value == "":
            r["patient_email"] = ""
        else:
            try:
                r["patient_email"] = cleaning.email(value)
            except CellError as exc:
                problems.append(("patient_email", str(exc)))
        value = cells[at_npi] if at_npi is not None and at_npi < size else ""
        if value == "":
            npi = r["source_npi"] = ""
        else:
            found = npi_seen.get(value) if value.__class__ is str else None
            if found is None:
                found = npi_of(value)
                if value.__class__ is str:
                    _remember(npi_seen, value, found)
            if found.__class__ is str:
                problems.append(("source_npi", found))
                npi = ""
            else:
                npi = r["source_npi"] = found[0]
        # Codes.
        for target, index, choices, default in enums:
            value = cells[index] if index is not None and index < size else ""
            if value == "":
                r[target] = default
                continue
            found = choices.seen.get(value) if value.__class__ is str else None
            if found is None:
                try:
                    found = choices(value, default)
                except CellError as exc:
                    problems.append((target, str(exc)))
                    continue
            r[target] = found
        # Location and service line.
        value = cells[at_location] if at_location is not None and at_location < size else ""
        text = value.strip() if value.__class__ is str else cell_text(value)
        if text:
            pk = location_seen.get(text)
            if pk is None:
                pk = location_of(text)
                if pk is not None:
                    _remember(location_seen, text, pk)
            r["location_id"] = pk
            if pk is None:
                problems.append(("location", f"no location is called {text!r}; the "
                                             f"practice has: {lk.location_names}"))
        elif lk.default_location is not None:
            r["location_id"] = lk.default_location
        else:
            problems.append(("location", "is empty; say which location received the "
                                         "referral"))
        value = cells[at_line] if at_line is not None and at_line < size else ""
        text = value.strip() if value.__class__ is str else cell_text(value)
        r["service_line_id"] = None
        if text:
            pk = line_seen.get(text)
            if pk is None:
                pk = service_line_of(text)
                if pk is not None:
                    _remember(line_seen, text, pk)
            r["service_line_id"] = pk
            if pk is None:
                problems.append(("service_line", f"no service line is called {text!r}; "
                                                 f"the practice has: "
                                                 f"{lk.service_line_names or 'none'}"))
        last, first = r["last_name"], r["first_name"]
        key = folded.get(last)
        r["last_key"] = key if key is not None else lk.fold(last)
        key = folded.get(first)
        r["first_key"] = key if key is not None else lk.fold(first)
        if problems:
            for target, message in problems:
                run.problem(line, target, message, run.cell(cells, target))
            return None
        # The source partner.
        name = r["source_name"]
        r["source_partner_id"], r["new_source"] = None, None
        if npi and npi in lk.by_npi:
            r["source_partner_id"] = lk.by_npi[npi]
        elif name and (found := lk.partner_by_name(name)) is not None:
            r["source_partner_id"] = found
        elif npi or name:
            if create_sources:
                r["new_source"] = (npi, name)
            else:
                what = f"NPI {npi}" + (f" or the name {name!r}" if name else "") if npi \
                    else f"the name {name!r}"
                run.problem(line, "source_npi" if npi and not name else "source_name",
                            f"no partner matches {what}; add the partner first, or choose "
                            "\"create unknown sources\"", name or npi)
                return None
        r["key"] = _row_key(run, cells, r["row_id"])
        return r

    return clean


_gc_lock = threading.Lock()
_gc_paused = [0, False]  # imports running in this process, gc was enabled before them


@contextmanager
def _cyclic_gc_paused():
    """Python's cyclic garbage collector paused while rows are imported (reference
    counting still frees every row; the import makes no reference cycles). With it on,
    each batch's ~20,000 row dicts and tuples are scanned again and again as they age:
    ~17% of the writer's CPU. Imports running side by side in one process (web threads)
    share the pause; the last one to end turns the collector back on if it was on."""
    with _gc_lock:
        if _gc_paused[0] == 0:
            _gc_paused[1] = gc.isenabled()
            gc.disable()
        _gc_paused[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_paused[0] -= 1
            if _gc_paused[0] == 0 and _gc_paused[1]:
                gc.enable()


def process_referrals(run) -> None:
    with _cyclic_gc_paused(), _sqlite_settings():
        _process_referrals(run)


@contextmanager
def _sqlite_settings():
    """SQLite: this connection's page cache up to 1 GB while the import runs (inserts
    into a dozen indexes thrash the default 2 MB; pages are allocated as used; a 1M-row
    import fits without spilling to the WAL before the commit) and temp_store=MEMORY
    when not inside a transaction (SQLite refuses it there); both put back afterwards
    (the dirty pages stay until the commit writes them). Durability is the project's:
    WAL with synchronous=NORMAL, so a committed transaction survives a killed process."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        cache_size = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA temp_store")
        temp_store = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA cache_size = -1048576")
        memory = not connection.in_atomic_block
        if memory:
            cursor.execute("PRAGMA temp_store = MEMORY")
    try:
        yield
    finally:
        if not connection.needs_rollback:  # else the failed import's transaction is
            with connection.cursor() as cursor:  # rolled back first
                cursor.execute(f"PRAGMA cache_size = {cache_size}")
                if memory and not connection.in_atomic_block:
                    cursor.execute(f"PRAGMA temp_store = {temp_store}")


def _process_referrals(run) -> None:
    """Check every row; when committing, write them BATCH at a time.

    All or nothing (the engine's one transaction around this): on SQLite the rollup
    insert triggers are dropped once for the whole import and its counts added once at
    the end (see _Rollups). Good rows: each batch is its own transaction, with the
    triggers dropped and restored inside it."""
    lk = Lookups.build()
    now = timezone.now()
    clean = make_cleaner(run, lk, now)
    batch: list[dict] = []
    good_rows = run.commit and run.job.mode == ImportMode.GOOD_ROWS
    lk.keys_before = good_rows or ReferralIdentifier.objects.filter(
        system=run.source_system).exists()
    whole = None
    if run.commit and not good_rows:
        whole = _Rollups()
        whole.start()
        lk.aside = _IndexesAside()
    counts = run.counts
    if _use_reader(run):
        _process_with_reader(run, lk, now, whole, good_rows)
        return
    rows = 0
    try:
        for line, cells in run.table.rows():
            rows += 1
            if cells.__class__ is not list:
                counts["rows"] = rows
                run.problem(line, "", f"the row cannot be read: {cells}")
                continue
            row = clean(line, cells)
            if row is not None:
                batch.append(row)
                if len(batch) >= BATCH:
                    counts["rows"] = rows
                    _flush(run, batch, lk, whole, atomic=good_rows)
                    batch = []
                    run.tick(rows)
        counts["rows"] = rows
        if batch:
            _flush(run, batch, lk, whole, atomic=good_rows)
    finally:
        counts["rows"] = rows
    if whole is not None:
        whole.finish()
    if lk.aside is not None and not run.error_lines:  # else the engine rolls it all back
        lk.aside.finish()


# --- Reading and checking in a second process (refnet.pipe) -------------------------------
# For a large CSV, `python -m refnet.imports.referral_reader` reads and checks the rows
# (make_cleaner, with the lookups built here) while this process matches and writes them:
# two cores, each with about half the work. Problems come back with each batch and are
# reported here in line order before the batch is written, as in one process.
PIPELINE_MIN_BYTES = 8 * 1024 * 1024
_LOOKUP_FIELDS = ("locations", "location_names", "default_location", "service_lines",
                  "service_line_names", "by_npi", "by_name", "names", "name_ids")


def _use_reader(run) -> bool:
    import os

    from .reading import is_xlsx

    return (PIPELINE_MIN_BYTES is not None and run.table.size >= PIPELINE_MIN_BYTES
            and not is_xlsx(run.table.path) and (os.cpu_count() or 1) >= 2)


class _ReaderProgress:
    """Stands for the run's table while the reader process reads the file."""

    def __init__(self, size: int) -> None:
        self.size, self.done = size, 0

    def bytes_done(self) -> int:
        return self.done


def _process_with_reader(run, lk: Lookups, now: datetime, whole: _Rollups | None,
                         good_rows: bool) -> None:
    from refnet.pipe import run_child

    options = {"path": str(run.table.path), "columns": run.columns,
               "date_orders": run.date_orders, "now": now.isoformat(), "batch": BATCH,
               "create_sources": bool(run.job.options.get("create_sources")),
               "lookups": {name: getattr(lk, name) for name in _LOOKUP_FIELDS}}
    table, progress = run.table, _ReaderProgress(run.table.size)
    run.table = progress
    counts = run.counts
    adapt_dt = connection.ops.adapt_datetimefield_value
    adapt_date = connection.ops.adapt_datefield_value
    try:
        for rows_read, done, problems, cleaned in run_child(
                "refnet.imports.referral_reader", options, name="referral-reader"):
            for line, target, message, value in problems:
                run.problem(line, target, message, value)
            for r in cleaned:  # what marshal cannot carry: dates
                received = r["received"]
                if r["received_db"] is None:
                    r["received_db"] = adapt_dt(datetime.fromisoformat(received))
                birth = r["birth_date"]
                if birth:
                    birth = r["birth_date"] = date.fromordinal(birth)
                    if r["birth_db"] is None:
                        r["birth_db"] = adapt_date(birth)
            counts["rows"], progress.done = rows_read, done
            if cleaned:
                _flush(run, cleaned, lk, whole, atomic=good_rows)
            run.tick(rows_read)
    finally:
        run.table = table
    if whole is not None:
        whole.finish()
    if lk.aside is not None and not run.error_lines:
        lk.aside.finish()


def reader_rows(options: dict):
    """In the reader process: (rows read, bytes read, problems, checked rows) per batch.
    Rows are make_cleaner's dicts with the received time as UTC ISO text (it sorts like
    the time) and the birth date as its ordinal."""
    from types import SimpleNamespace

    from .reading import open_table

    columns = options["columns"]
    problems: list[tuple] = []

    def cell(cells: list, target: str):
        index = columns.get(target)
        return "" if index is None or index >= len(cells) else cells[index]

    def problem(line: int, target: str, message: str, value="") -> None:
        problems.append((line, target, message, cell_text(value)[:200]))

    run = SimpleNamespace(columns=columns, date_orders=options["date_orders"], cell=cell,
                          problem=problem,
                          job=SimpleNamespace(options={"create_sources":
                                                       options["create_sources"]}))
    lk = Lookups(tz=timezone.get_default_timezone(), **options["lookups"])
    clean = make_cleaner(run, lk, datetime.fromisoformat(options["now"]))
    utc = UTC
    batch_rows, size = [], options["batch"]
    rows = 0
    gc.disable()  # this process only reads; see _cyclic_gc_paused
    with open_table(options["path"]) as table:
        for line, cells in table.rows():
            rows += 1
            if cells.__class__ is not list:
                problem(line, "", f"the row cannot be read: {cells}")
                continue
            r = clean(line, cells)
            if r is None:
                continue
            r["received"] = r["received"].astimezone(utc).isoformat()
            if r["received_db"].__class__ is not str:
                r["received_db"] = None
            birth = r["birth_date"]
            if birth is not None:
                r["birth_date"] = birth.toordinal()
                if r["birth_db"].__class__ is not str:
                    r["birth_db"] = None
            batch_rows.append(r)
            if len(batch_rows) >= size:
                yield rows, table.bytes_done(), problems[:], batch_rows
                problems.clear()
                batch_rows = []
        yield rows, table.size, problems[:], batch_rows


def _flush(run, rows: list[dict], lk: Lookups, whole: _Rollups | None, *,
           atomic: bool) -> None:
    if atomic:
        with transaction.atomic():
            rollups = _Rollups()
            rollups.start()
            _batch(run, rows, lk, rollups)
            rollups.finish()
    else:
        _batch(run, rows, lk, whole)


def _batch(run, rows: list[dict], lk: Lookups, rollups: _Rollups | None) -> None:
    system = run.source_system
    # 1. Imported before, or twice in this file.
    before = set(_values_by(
        "SELECT value, 1 FROM referrals_referralidentifier WHERE system = %s AND value IN "
        "({})", [system], [r["key"] for r in rows])) if lk.keys_before else set()
    todo = []
    seen_keys = lk.seen_keys
    for r in rows:
        key = r["key"]
        if key in before:
            run.counts["already"] += 1
            run.counts["duplicate"] += 1
        elif key in seen_keys:
            run.counts["duplicate"] += 1
            run.notes.append(f"line {r['line']}: the same row (id {key}) as an earlier "
                             "line; skipped")
        else:
            seen_keys.add(key)
            todo.append(r)
    if not todo:
        return
    # 2. Patients: existing ones, then the ones this import made.
    ext_ids = [r["patient_external_id"] for r in todo if r["patient_external_id"]]
    mrns = [r["mrn"] for r in todo if r["mrn"] and r["mrn"] not in lk.made_mrn]
    known_ext = _values_by(
        "SELECT value, patient_id FROM referrals_patientidentifier WHERE system = %s AND "
        "value IN ({})", [system], sorted(set(ext_ids)))
    aside = lk.aside if lk.aside is not None and lk.aside.by_mrn is not None else None
    if aside is not None:
        known_mrn = {m: aside.by_mrn[m] for m in mrns if m in aside.by_mrn}
    else:
        known_mrn = _values_by("SELECT mrn, id FROM referrals_patient WHERE mrn IN ({}) "
                               "ORDER BY id DESC", [], sorted(set(mrns)))
    named = set()
    for r in todo:
        if r["birth_date"] and r["last_name"] and not (
                r["patient_external_id"] in known_ext or r["mrn"] in known_mrn
                or r["mrn"] in lk.made_mrn or r["patient_external_id"] in lk.made_ext):
            named.add((r["last_key"], r["first_key"], r["birth_date"]))
    if aside is not None:
        known_name = {k: aside.by_name[k] for k in named
                      if k in aside.by_name and k not in lk.made_name}
    else:
        known_name = _patients_by_name(sorted(named - lk.made_name.keys()))
    # New patients: own key -> [values of PATIENT_COLUMNS..., id once inserted].
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    new_patients: dict[tuple, list] = {}
    new_identifiers: list[tuple[list, str]] = []
    new_names: list[tuple[tuple, list]] = []
    ready = []
    made_ext, made_mrn, made_name = lk.made_ext, lk.made_mrn, lk.made_name
    for r in todo:
        birth = r["birth_date"]
        name_key = (r["last_key"], r["first_key"], birth) if birth and r["last_name"] \
            else None
        ext, mrn = r["patient_external_id"], r["mrn"]
        pid = (ext and (known_ext.get(ext) or made_ext.get(ext))) \
            or (mrn and (known_mrn.get(mrn) or made_mrn.get(mrn))) \
            or (name_key and (known_name.get(name_key) or made_name.get(name_key))) or None
        r["patient_id"], r["patient"] = pid, None
        if pid is None:
            own = ("e", ext) if ext else ("m", mrn) if mrn else ("n", name_key) if name_key \
                else ("l", r["line"])
            patient = new_patients.get(own)
            if patient is None:
                if not r["first_name"] or not r["last_name"]:
                    missing = "last_name" if not r["last_name"] else "first_name"
                    run.problem(r["line"], missing, "is empty; a new patient needs a first "
                                                    "and last name")
                    seen_keys.discard(r["key"])
                    continue
                patient = new_patients[own] = [
                    mrn, r["first_name"], r["last_name"], r.get("birth_db"), r["sex"],
                    r["patient_phone"], r["phone_digits"][-10:], r["patient_email"], "", "",
                    "", "", r["last_key"], r["first_key"], False, None, False, False, "",
                    stamp]
                if ext:
                    new_identifiers.append((patient, ext))
                if name_key is not None:
                    new_names.append((name_key, patient))
            r["patient"] = patient
        ready.append(r)
    run.counts["ok"] += len(ready)
    if not run.commit or not ready:
        return
    # 3. Sources to create (create_sources), once each.
    for r in ready:
        if r["new_source"] is not None:
            if r["new_source"] not in lk.created_sources:
                npi, name = r["new_source"]
                partner, _how = provider_match_or_create(
                    ProviderIn(npi=npi, name=name or f"NPI {npi}", is_organization=not npi),
                    by=run.job.by)
                lk.created_sources[r["new_source"]] = partner.pk
                run.counts["sources_created"] += 1
                run.notes.append(f"line {r['line']}: created the partner {partner.name!r}")
            r["source_partner_id"] = lk.created_sources[r["new_source"]]
    # 4. Write: patients, then referrals in received order (the received_at indexes grow
    # at their ends instead of being split all over).
    if lk.aside is not None:
        lk.aside.decide(run, run.counts["rows"])
    made = list(new_patients.values())
    patient_ids = _insert("referrals_patient", PATIENT_COLUMNS, made, ids=True)
    if rollups is not None:
        rollups.patients_made(patient_ids)
    for patient, pk in zip(made, patient_ids, strict=True):
        patient.append(pk)
    for (kind, value), patient in new_patients.items():
        if kind == "e":
            made_ext[value] = patient[-1]
        if patient[0]:
            made_mrn[patient[0]] = patient[-1]
    for name_key, patient in new_names:
        # The newest patient with this name and birth date, as a name lookup in the
        # database would find it.
        made_name[name_key] = patient[-1]
    if new_identifiers:
        _insert("referrals_patientidentifier", ("patient_id", "system", "value"),
                [(p[-1], system, v) for p, v in new_identifiers])
    ready.sort(key=lambda r: r["received"])
    by_id = run.job.by_id
    values, patients = [], []
    known, unresolved, channel = SourceStatus.KNOWN, SourceStatus.UNRESOLVED, \
        ArrivalChannel.IMPORT
    stages = _STAGES
    for r in ready:
        status = r["status"]
        patient_id = r["patient_id"] or r["patient"][-1]
        at = r["received_db"]
        contacted, scheduled, seen, closed = stages[status]
        source = r["source_partner_id"]
        values.append((
            patient_id, source, None, known if source else unresolved,
            r["source_text"], r["location_id"], r["service_line_id"], channel,
            at, status, at, r["received_month"],
            at if contacted else None, at if scheduled else None,
            at if seen else None, at if closed else None,
            r["outcome"], None, r["reason"], r["diagnosis"], r["priority"], by_id, stamp))
        patients.append(patient_id)
    if rollups is not None:
        rollups.count(values)
    referral_ids = _insert("referrals_referral", REFERRAL_COLUMNS, values, ids=True)
    note = f"Imported from {run.job.file_name}"[:480] + ", line "
    identifiers, events = [], []
    for pk, r in zip(referral_ids, ready, strict=True):
        identifiers.append((pk, system, r["key"]))
        events.append((pk, r["received_db"], by_id, "", r["status"], note + str(r["line"])))
    _insert("referrals_referralidentifier", ("referral_id", "system", "value"), identifiers)
    _insert("referrals_referralevent", ("referral_id", "at", "by_id", "from_status",
                                        "to_status", "note"), events)
    run.counts["patients_created"] += len(made)
    _audit(run, set(patient_ids), patients, lk.audited)


def _values_by(sql: str, params: list, values: list[str]) -> dict[str, int]:
    """{first column: second column} for `values` put IN the query, 500 at a time (the
    last row of a value wins)."""
    found: dict[str, int] = {}
    if not values:
        return found
    with connection.cursor() as cursor:
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            cursor.execute(sql.format(", ".join(["%s"] * len(chunk))), params + chunk)
            found.update(cursor.fetchall())
    return found


def _patients_by_name(named: list[tuple]) -> dict[tuple, int]:
    """(last key, first key, birth date) -> the newest patient with them. Exact terms
    OR-ed together, so each uses the (last_name_key, first_name_key) index and the query
    reads only real matches, however many patients share a last name."""
    found: dict[tuple, int] = {}
    adapt = connection.ops.adapt_datefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(named), 300):
            chunk = named[start:start + 300]
            terms = " OR ".join(["(last_name_key = %s AND first_name_key = %s AND "
                                 "birth_date = %s)"] * len(chunk))
            cursor.execute(f"SELECT last_name_key, first_name_key, birth_date, id FROM "
                           f"referrals_patient WHERE {terms} ORDER BY id",
                           [v for last, first, born in chunk
                            for v in (last, first, adapt(born))])
            for last, first, born, pk in cursor.fetchall():
                if isinstance(born, str):
                    born = date.fromisoformat(born)
                found[(last, first, born)] = pk
    return found


PATIENT_COLUMNS = ("mrn", "first_name", "last_name", "birth_date", "sex", "phone",
                   "phone_digits", "email", "address_line", "city", "state", "zip_code",
                   "last_name_key", "first_name_key", "may_thank_referrer",
                   "may_thank_referrer_at", "sms_consent", "federal_program_beneficiary",
                   "notes", "created_at")
REFERRAL_COLUMNS = ("patient_id", "source_partner_id", "source_contact_id", "source_status",
                    "source_text", "location_id", "service_line_id", "channel", "received_at",
                    "status", "status_changed_at", "received_month", "contacted_at",
                    "scheduled_at", "seen_at", "closed_at", "outcome", "assigned_to_id",
                    "reason", "diagnosis", "priority", "created_by_id", "created_at")
MAX_PARAMS = 30000
# Which stage times each status sets on an imported referral (all at the received time).
_STAGES = {status: tuple(name in STAGE_TIMES.get(status, ()) for name in
                         ("contacted_at", "scheduled_at", "seen_at", "closed_at"))
           for status in ReferralStatus.values}
# ...as RollupTally's stages: a stage time equal to the received time is bucket 0.
_TALLY_STAGES = {status: (status, 0 if contacted else None, scheduled, 0 if seen else None)
                 for status, (contacted, scheduled, seen, _closed) in _STAGES.items()}
# RollupTally.add's first columns, as positions in REFERRAL_COLUMNS.
_TALLIED = tuple(REFERRAL_COLUMNS.index(name) for name in (
    "received_month", "location_id", "service_line_id", "source_partner_id"))


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple], *,
            ids: bool = False) -> list[int]:
    """Insert tuples as they are (no model instances); with ids=True, returns the new
    rows' ids in row order.

    SQLite: multi-row INSERTs (refnet.bulk.sqlite_insert_rows). The ids are not
    returned but known: the import's transaction holds SQLite's only write lock, so
    AUTOINCREMENT gives the rows the counter (or the highest id) + 1, 2, ... in order;
    the counter is read before and checked after. PostgreSQL: multi-row INSERTs
    RETURNING the ids in row order."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            if not ids:
                sqlite_insert_rows(table, columns, rows)
                return []
            assert connection.in_atomic_block, "ids are only safe inside a transaction"
            counter = (f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = "
                       f"'{table}'), 0), COALESCE((SELECT MAX(id) FROM {table}), 0))")
            cursor.execute(counter)
            first = cursor.fetchone()[0] + 1
            sqlite_insert_rows(table, columns, rows)
            cursor.execute(counter)
            last = cursor.fetchone()[0]
            if last != first + len(rows) - 1:  # never while the lock is held
                raise RuntimeError(f"{table}: ids {first}..{last} for {len(rows)} rows")
            return list(range(first, last + 1))
        found: list[int] = []
        per = max(1, MAX_PARAMS // len(columns))
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            cursor.execute(head + ", ".join([one] * len(chunk)) + (" RETURNING id" if ids
                                                                    else ""),
                           [v for row in chunk for v in row])
            if ids:
                found.extend(row[0] for row in cursor.fetchall())
        return found


class _IndexesAside:
    """SQLite, all or nothing, a file large next to the referral table: build the
    secondary indexes of the tables the import fills once at the end instead of
    updating them row by row.

    A referral row costs ~13 µs of SQLite work with its 12 indexes and ~4 µs without;
    rebuilding an index sorts the whole table once (~0.4 s per index per million rows
    here). So the indexes are set aside when the import will add at least
    REBUILD_SHARE of the rows already in the referral table (estimated from the file's
    size and the bytes per row of the first batch). Inside the import's one
    transaction: DROP INDEX before the first insert, the saved CREATE INDEX statements
    after the last one; readers (WAL) keep seeing the committed indexes meanwhile, and a
    rollback puts everything back, DDL included. Unique indexes (constraints, and the
    ones the import searches for keys imported before) stay. The patient indexes go too:
    the patients that were there before are read into two dictionaries once (by MRN, by
    name and birth date; the file is at least REBUILD_SHARE of the table, so they are
    small next to it) and looked up there. PostgreSQL keeps its indexes (dropping one
    there would lock out readers for the whole import)."""

    TABLES = ("referrals_referral", "referrals_referralevent",
              "referrals_referralidentifier", "accounts_auditevent", "referrals_patient")

    def __init__(self) -> None:
        self.decided = False
        self.creates: list[str] = []
        # With the patient indexes aside, the patients that were there before the import
        # are looked up here instead (by MRN: the oldest; by name and birth date: the
        # newest, as the queries they replace); the import's own are in Lookups.made_*.
        self.by_mrn: dict[str, int] | None = None
        self.by_name: dict[tuple, int] | None = None

    def decide(self, run, rows_read: int) -> None:
        """Before the first insert: set the indexes aside if the file is large enough."""
        if self.decided:
            return
        self.decided = True
        if connection.vendor != "sqlite" or not connection.in_atomic_block:
            return
        done = run.table.bytes_done()
        size = run.table.size or 0
        expected = rows_read * size / done if done and size > done else rows_read
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM referrals_referral")
            existing = cursor.fetchone()[0]
            if expected < REBUILD_MIN_ROWS or expected < existing * REBUILD_SHARE:
                return
            self._preload_patients(cursor)
            marks = ", ".join(["%s"] * len(self.TABLES))
            cursor.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                           f"tbl_name IN ({marks}) AND sql IS NOT NULL AND "
                           f"sql NOT LIKE 'CREATE UNIQUE%%'", list(self.TABLES))
            found = cursor.fetchall()
            for name, sql in found:
                cursor.execute(f'DROP INDEX "{name}"')
                self.creates.append(sql)
        if self.creates:
            run.notes.append(f"{len(self.creates)} indexes rebuilt after the import "
                             f"(~{int(expected):,} rows next to {existing:,})")

    def _preload_patients(self, cursor) -> None:
        self.by_mrn, self.by_name = {}, {}
        cursor.execute("SELECT mrn, id FROM referrals_patient WHERE mrn != '' "
                       "ORDER BY id DESC")
        self.by_mrn.update(cursor.fetchall())
        cursor.execute("SELECT last_name_key, first_name_key, birth_date, id FROM "
                       "referrals_patient WHERE birth_date IS NOT NULL ORDER BY id")
        for last, first, born, pk in cursor.fetchall():
            if isinstance(born, str):
                born = date.fromisoformat(born)
            self.by_name[(last, first, born)] = pk

    def finish(self) -> None:
        if self.creates:
            with connection.cursor() as cursor:
                for sql in self.creates:
                    cursor.execute(sql)
            self.creates = []


class _Rollups:
    """The report rollups on SQLite, where the per-row insert triggers cost four upserts
    per referral (five times the insert itself). Inside a transaction, which holds
    SQLite's only write lock, start() drops the insert triggers; count() tallies each
    batch's referrals by what their counts depend on (month, location, service line,
    source, their patient's ZIP, status: a few thousand distinct tuples for a million
    rows); finish() adds the tally to every rollup table (reports.rollup.rollup_add: one
    executemany upsert per table, what the triggers would have added) and puts the
    triggers back. Nobody else can write meanwhile, and a rollback undoes all of it. All
    or nothing does this once for the whole import, good rows once per batch. PostgreSQL
    keeps its triggers."""

    def __init__(self) -> None:
        self.tally = None  # a reports.rollup.RollupTally once there are referrals
        # The first patient id inserted in this transaction: patients from there on are
        # the import's own, made with no ZIP code; older ones may have one.
        self.first_patient: int | None = None
        self.creates: list[str] = []
        self.sqlite = connection.vendor == "sqlite"

    def start(self) -> None:
        if not self.sqlite:
            return
        assert connection.in_atomic_block, "the triggers may only go inside a transaction"
        from refnet.reports.rollup import _statements

        up, _down = _statements()
        self.creates = [sql for sql in up if "AFTER INSERT ON referrals_referral" in sql]
        with connection.cursor() as cursor:
            for sql in self.creates:
                cursor.execute(f"DROP TRIGGER IF EXISTS {sql.split()[2]}")

    def patients_made(self, ids: list[int]) -> None:
        if ids and self.first_patient is None:
            self.first_patient = ids[0]

    def count(self, values: list[tuple]) -> None:
        """Tally referrals about to be inserted (REFERRAL_COLUMNS tuples). Their stage
        times are all the received time: each delay is 0 seconds (bucket 0)."""
        if not self.sqlite:
            return
        if self.tally is None:
            from refnet.reports.rollup import RollupTally

            self.tally = RollupTally()
        first = self.first_patient
        patients = [v[0] for v in values]
        older = sorted({pk for pk in patients if first is None or pk < first})
        zips = _zip5_of(older) if older else None
        stages, at = _TALLY_STAGES, REFERRAL_COLUMNS.index("status")
        self.tally.add(
            *([v[i] for v in values] for i in _TALLIED),
            [""] * len(values) if zips is None else [zips.get(pk, "") for pk in patients],
            [stages[v[at]] for v in values])

    def finish(self) -> None:
        if not self.sqlite:
            return
        if self.tally is not None:
            self.tally.write()
        with connection.cursor() as cursor:
            for sql in self.creates:
                cursor.execute(sql)


def _zip5_of(patient_ids: list[int]) -> dict[int, str]:
    """{patient id: the first five characters of its ZIP code} for those that have one."""
    found = {}
    with connection.cursor() as cursor:
        for start in range(0, len(patient_ids), 500):
            chunk = patient_ids[start:start + 500]
            cursor.execute("SELECT id, SUBSTR(zip_code, 1, 5) FROM referrals_patient WHERE "
                           f"zip_code != '' AND id IN ({', '.join(['%s'] * len(chunk))})",
                           chunk)
            found.update(cursor.fetchall())
    return found


def _audit(run, created: set[int], patient_ids: list[int], audited: set[int]) -> None:
    """One row per patient per import: CREATE for a patient made, UPDATE for an existing
    patient given a referral (the rows accounts.audit would write, with the job's user and
    the import's page as path). `audited` holds the patients earlier batches wrote."""
    job = run.job
    user = job.by
    username = user.username if user else "refnet import"
    at = timezone.now()
    address = job.options.get("address") or None
    path = f"/import/{job.pk}/"
    made = (AuditAction.CREATE, f"import #{job.pk}: patient and referral from a file")
    given = (AuditAction.UPDATE, f"import #{job.pk}: referral from a file")
    by_id = job.by_id
    rows = []
    for pk in patient_ids:
        if pk not in audited:
            audited.add(pk)
            rows.append((at, by_id, username, pk, *(made if pk in created else given),
                         address, path))
    audit_append_values(rows)  # chained to the audit log in one go (docs/audit.md)

