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
identifiers, Referrals, ReferralIdentifiers, one ReferralEvent each ("Imported", at the
received time, to the row's status) and one audit row per patient are bulk-inserted. The
rollup triggers count the referrals; rules_tick turns the events into follow-ups.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from rapidfuzz import fuzz, process

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.partners.models import Partner, PartnerAlias
from refnet.partners.search import fold
from refnet.practice.models import Location, ServiceLine
from refnet.referrals.inbound import ProviderIn, provider_match_or_create
from refnet.referrals.models import (
    ArrivalChannel,
    Outcome,
    Patient,
    PatientIdentifier,
    ReferralIdentifier,
    ReferralStatus,
    SourceStatus,
)
from refnet.reports.rollup import STAGE_TIMES

from . import cleaning, dates
from .cleaning import CellError
from .models import ImportMode
from .reading import cell_text

BATCH = 5000
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
         ReferralStatus.RECEIVED),
        ("outcome", cleaning.Choices(Outcome.choices), "")))
    folded: dict[str, str] = field(default_factory=dict)
    created_sources: dict[tuple, int] = field(default_factory=dict)
    # Patients this import made: their keys -> id.
    made_ext: dict[str, int] = field(default_factory=dict)
    made_mrn: dict[str, int] = field(default_factory=dict)
    made_name: dict[tuple, int] = field(default_factory=dict)
    seen_keys: set[str] = field(default_factory=set)

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


def clean_referral_row(run, line: int, cells: list, lk: Lookups, now: datetime) -> dict | None:
    bad = False
    r: dict = {"line": line}

    def fail(target: str, message: str) -> None:
        nonlocal bad
        run.problem(line, target, message, run.cell(cells, target))
        bad = True

    for target, max_length in {**PATIENT_TEXT, **REFERRAL_TEXT}.items():
        value = run.cell(cells, target)
        r[target] = cell_text(value) if value != "" else ""
        if len(r[target]) > max_length:
            fail(target, f"is {len(r[target])} characters long; at most {max_length} fit")
    orders = run.date_orders
    try:
        moment = dates.parse_moment(run.cell(cells, "received"),
                                    orders.get("received", dates.MDY))
        if moment is None:
            fail("received", "is empty; every referral needs its received date")
        else:
            received = _aware(moment, lk.tz)
            if received > now + timedelta(days=1):
                fail("received", f"{received:%Y-%m-%d} is in the future")
            elif received.year < 1990:
                fail("received", f"{received:%Y-%m-%d} is too long ago")
            r["received"] = received
    except (ValueError, OverflowError) as exc:
        fail("received", str(exc))
    try:
        birth = dates.parse_date(run.cell(cells, "birth_date"),
                                 orders.get("birth_date", dates.MDY))
        if birth is not None and (birth > now.date() or birth.year < 1900):
            fail("birth_date", f"{birth:%Y-%m-%d} cannot be a birth date")
        r["birth_date"] = birth
    except (ValueError, OverflowError) as exc:
        fail("birth_date", str(exc))
    for target, check in (("patient_phone", cleaning.phone), ("patient_email", cleaning.email),
                          ("source_npi", cleaning.npi)):
        try:
            r[target] = check(run.cell(cells, target))
        except CellError as exc:
            fail(target, str(exc))
    for target, choices, default in lk.enums:
        try:
            r[target] = choices(run.cell(cells, target), default)
        except CellError as exc:
            fail(target, str(exc))
    location = cell_text(run.cell(cells, "location"))
    if location:
        r["location_id"] = lk.locations.get(lk.fold(location))
        if r["location_id"] is None:
            fail("location", f"no location is called {location!r}; the practice has: "
                             f"{lk.location_names}")
    elif lk.default_location is not None:
        r["location_id"] = lk.default_location
    else:
        fail("location", "is empty; say which location received the referral")
    line_name = cell_text(run.cell(cells, "service_line"))
    r["service_line_id"] = None
    if line_name:
        r["service_line_id"] = lk.service_lines.get(lk.fold(line_name))
        if r["service_line_id"] is None:
            fail("service_line", f"no service line is called {line_name!r}; the practice "
                                 f"has: {lk.service_line_names or 'none'}")
    if bad:
        return None
    # The source partner.
    npi, name = r.get("source_npi", ""), r["source_name"]
    r["source_partner_id"], r["new_source"] = None, None
    if npi and npi in lk.by_npi:
        r["source_partner_id"] = lk.by_npi[npi]
    elif name and (found := lk.partner_by_name(name)) is not None:
        r["source_partner_id"] = found
    elif npi or name:
        if run.job.options.get("create_sources"):
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


def process_referrals(run) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # Random inserts into half a dozen indexes thrash SQLite's default 2 MB page
            # cache; this connection gets a bigger one (memory, only while it is in use).
            cursor.execute("PRAGMA cache_size = -262144")
    lk = Lookups.build()
    now = timezone.now()
    batch: list[dict] = []
    good_rows = run.commit and run.job.mode == ImportMode.GOOD_ROWS
    for line, cells in run.table.rows():
        run.counts["rows"] += 1
        if isinstance(cells, Exception):
            run.problem(line, "", f"the row cannot be read: {cells}")
            continue
        row = clean_referral_row(run, line, cells, lk, now)
        if row is not None:
            batch.append(row)
        if len(batch) >= BATCH:
            _flush(run, batch, lk, now, atomic=good_rows)
            batch = []
            run.tick(run.counts["rows"])
    if batch:
        _flush(run, batch, lk, now, atomic=good_rows)


def _flush(run, rows: list[dict], lk: Lookups, now: datetime, *, atomic: bool) -> None:
    if atomic:
        with transaction.atomic():
            _batch(run, rows, lk, now)
    else:
        _batch(run, rows, lk, now)


def _batch(run, rows: list[dict], lk: Lookups, now: datetime) -> None:
    system = run.source_system
    # 1. Imported before, or twice in this file.
    before = set(ReferralIdentifier.objects.filter(
        system=system, value__in=[r["key"] for r in rows]).values_list("value", flat=True))
    todo = []
    for r in rows:
        if r["key"] in before:
            run.counts["already"] += 1
            run.counts["duplicate"] += 1
        elif r["key"] in lk.seen_keys:
            run.counts["duplicate"] += 1
            run.notes.append(f"line {r['line']}: the same row (id {r['key']}) as an earlier "
                             "line; skipped")
        else:
            lk.seen_keys.add(r["key"])
            todo.append(r)
    if not todo:
        return
    # 2. Patients: existing ones, then the ones this import made.
    ext_ids = {r["patient_external_id"] for r in todo if r["patient_external_id"]}
    mrns = {r["mrn"] for r in todo if r["mrn"]}
    known_ext = dict(PatientIdentifier.objects.filter(system=system, value__in=ext_ids)
                     .values_list("value", "patient_id")) if ext_ids else {}
    known_mrn: dict[str, int] = {}
    if mrns:
        for mrn, pk in Patient.objects.filter(mrn__in=mrns).order_by("-id") \
                .values_list("mrn", "id"):
            known_mrn[mrn] = pk
    for r in todo:
        r["last_key"], r["first_key"] = fold(r["last_name"]), fold(r["first_name"])
    named = sorted({(r["last_key"], r["first_key"], r["birth_date"]) for r in todo
                    if r["birth_date"] and r["last_name"]
                    and not (r["patient_external_id"] in known_ext or r["mrn"] in known_mrn)})
    known_name = _patients_by_name(named)
    new_patients: dict[tuple, Patient] = {}
    new_identifiers: list[tuple[Patient, str]] = []
    ready = []
    for r in todo:
        name_key = (r["last_key"], r["first_key"], r["birth_date"]) \
            if r["birth_date"] and r["last_name"] else None
        ext, mrn = r["patient_external_id"], r["mrn"]
        pid = (ext and (known_ext.get(ext) or lk.made_ext.get(ext))) \
            or (mrn and (known_mrn.get(mrn) or lk.made_mrn.get(mrn))) \
            or (name_key and (known_name.get(name_key) or lk.made_name.get(name_key))) or None
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
                    lk.seen_keys.discard(r["key"])
                    continue
                patient = Patient(
                    mrn=mrn, first_name=r["first_name"], last_name=r["last_name"],
                    birth_date=r["birth_date"], sex=r["sex"], phone=r["patient_phone"],
                    phone_digits=cleaning.phone_digits(r["patient_phone"]),
                    email=r["patient_email"], last_name_key=r["last_key"],
                    first_name_key=r["first_key"])
                new_patients[own] = patient
                if ext:
                    new_identifiers.append((patient, ext))
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
    # 4. Write.
    made = list(new_patients.values())
    ops = connection.ops
    dt = ops.adapt_datetimefield_value
    stamp = dt(timezone.now())
    patient_ids = _insert("referrals_patient", PATIENT_COLUMNS, [
        (p.mrn, p.first_name, p.last_name, ops.adapt_datefield_value(p.birth_date), p.sex,
         p.phone, p.phone_digits, p.email, "", "", "", "", p.last_name_key, p.first_name_key,
         False, None, False, False, "", stamp) for p in made], returning=True)
    for patient, pk in zip(made, patient_ids, strict=True):
        patient.pk = patient.id = pk
    for (kind, value), patient in new_patients.items():
        {"e": lk.made_ext, "m": lk.made_mrn, "n": lk.made_name}.get(kind, {})[value] = \
            patient.pk
        if kind != "m" and patient.mrn:
            lk.made_mrn[patient.mrn] = patient.pk
    if new_identifiers:
        _insert("referrals_patientidentifier", ("patient_id", "system", "value"),
                [(p.pk, system, v) for p, v in new_identifiers])
    by_id = run.job.by_id
    values, patients = [], []
    for r in ready:
        received, status = r["received"], r["status"]
        patient_id = r["patient_id"] or r["patient"].pk
        local = received.astimezone(lk.tz)
        at = dt(received)
        stages = STAGE_TIMES.get(status, ())
        values.append((
            patient_id, r["source_partner_id"], None,
            SourceStatus.KNOWN if r["source_partner_id"] else SourceStatus.UNRESOLVED,
            r["source_text"], r["location_id"], r["service_line_id"], ArrivalChannel.IMPORT,
            at, status, at, local.year * 100 + local.month,
            at if "contacted_at" in stages else None, at if "scheduled_at" in stages else None,
            at if "seen_at" in stages else None, at if "closed_at" in stages else None,
            r["outcome"], None, r["reason"], r["diagnosis"], r["priority"], by_id, stamp))
        patients.append(patient_id)
    with _rollup_in_bulk() as added:
        referral_ids = _insert("referrals_referral", REFERRAL_COLUMNS, values, returning=True)
        added(referral_ids)
    note = f"Imported from {run.job.file_name}"[:480]
    _insert("referrals_referralidentifier", ("referral_id", "system", "value"),
            [(pk, system, r["key"]) for pk, r in zip(referral_ids, ready, strict=True)])
    _insert("referrals_referralevent", ("referral_id", "at", "by_id", "from_status",
                                        "to_status", "note"),
            [(pk, v[8], by_id, "", r["status"], f"{note}, line {r['line']}")
             for pk, v, r in zip(referral_ids, values, ready, strict=True)])
    run.counts["patients_created"] += len(made)
    _audit(run, made, patients)


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


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple], *,
            returning: bool = False) -> list[int]:
    """Multi-row INSERTs (RETURNING the ids in row order, as Django's bulk_create relies
    on for SQLite >= 3.35 and PostgreSQL); far less Python per row than bulk_create."""
    if not rows:
        return []
    ids: list[int] = []
    per = max(1, MAX_PARAMS // len(columns))
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            sql = head + ", ".join([one] * len(chunk)) + (" RETURNING id" if returning else "")
            params = [v for row in chunk for v in row]
            cursor.execute(sql, params)
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


@contextmanager
def _rollup_in_bulk():
    """On SQLite, the per-row insert triggers of the report rollups cost four upserts per
    referral (five times the insert itself). Inside the batch's transaction, which holds
    SQLite's only write lock, they are dropped, the batch is inserted, its counts are added
    with one grouped upsert per rollup table (the rebuild SELECTs of reports' migrations,
    limited to the batch's ids), and the triggers are put back: nobody else can write a
    referral meanwhile, and a rollback undoes all of it. PostgreSQL keeps its triggers."""
    ids: list[int] = []
    if connection.vendor != "sqlite":
        yield ids.extend
        return
    from refnet.reports.rollup import _more, _statements

    up, _down = _statements()
    creates = [sql for sql in up if "AFTER INSERT ON referrals_referral" in sql]
    names = [sql.split()[2] for sql in creates]
    with transaction.atomic(), connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        yield ids.extend
        if ids:
            where = f"r.id BETWEEN {int(min(ids))} AND {int(max(ids))}"
            for sql in _stat_upserts(where) + [
                    upsert for rollup in _more().ROLLUPS
                    for upsert in rollup.upserts("sqlite", _more().ALL_REFERRALS, "+",
                                                 where)]:
                cursor.execute(sql)
        for sql in creates:
            cursor.execute(sql)


def _stat_upserts(where: str) -> list[str]:
    from refnet.reports.rollup import _migration

    module = _migration()
    select = module.REBUILD[1]
    select = select.replace("GROUP BY", f"WHERE {where} GROUP BY", 1)
    return [select + " " + module.UPSERT]


def _audit(run, made: list[Patient], patient_ids: list[int]) -> None:
    """One CREATE per patient made, one UPDATE per existing patient given a referral (the
    rows accounts.audit would write, with the job's user and the import's page as path)."""
    job = run.job
    user = job.by
    username = user.username if user else "refnet import"
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    created = {p.pk for p in made}
    address = job.options.get("address") or None
    path = f"/import/{job.pk}/"
    rows, seen = [], set()
    for patient_id in patient_ids:
        if patient_id in seen:
            continue
        seen.add(patient_id)
        new = patient_id in created
        rows.append((at, job.by_id, username, patient_id,
                     AuditAction.CREATE if new else AuditAction.UPDATE,
                     f"import #{job.pk}: {'patient and ' if new else ''}referral from a file",
                     address, path))
    _insert(AuditEvent._meta.db_table, ("at", "user_id", "username", "patient_id", "action",
                                        "what", "address", "path"), rows)
