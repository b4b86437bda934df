"""Reads of patients and referrals that are more than a one-line filter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from refnet.accounts.models import User
from refnet.accounts.permissions import Cap, has_cap
from refnet.partners.models import Contact, Partner
from refnet.partners.search import fold, partners_search
from refnet.practice.models import Location, ServiceLine
from refnet.prepared import prepared_cursor

from .models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Patient,
    Referral,
    ReferralEvent,
    ReferralRemoval,
    ReferralStatus,
    SourceStatus,
)


def _parse_date(text: str) -> date | None:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%m/%d/%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _prefix_sql(column: str, word: str) -> tuple[str, list[str]]:
    """`column` starts with `word`, written so that a B-tree index on `column` serves it on
    SQLite and PostgreSQL: a range (word <= column < the next prefix) the index can seek,
    plus the LIKE (Django's startswith: the wildcards in `word` escaped) that makes the
    range exact under any collation."""
    like = "LIKE %s ESCAPE '\\'" if connection.vendor == "sqlite" else "LIKE %s"
    sql = f"{column} >= %s AND {column} {like}"
    params = [word, connection.ops.prep_for_like_query(word) + "%"]
    following = ord(word[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored: the next one is U+E000
        following = 0xE000
    if following <= 0x10FFFF:
        sql += f" AND {column} < %s"
        params.append(word[:-1] + chr(following))
    return sql, params


def _patients_by_name(words: list[str], limit: int) -> list[Patient]:
    """The first `limit` patients, by (last_name_key, first_name_key, id), whose last or
    first name starts with the one word, or whose last and first names start with the two
    words in either order.

    1. Each side of the OR is its own subquery that one index answers in order: the
       last-name side seeks (last_name_key, first_name_key, id); the first-name side seeks
       (first_name_key, last_name_key, id), or walks the first index in order when the
       first name is common (the planners choose). One query with the OR scans the table.
       Each side reads the indexed columns alone (a common first name sorts a few
       thousand index entries, not table rows) and stops at `limit`.
    2. One statement reads the patients of both short lists by id; 3. they are merged
       and cut to `limit` here. (One statement, not three: it is the desk's busiest
       search, and each ORM query cost more CPU to build than to run.)
    """
    q = connection.ops.quote_name
    last, first = q("last_name_key"), q("first_name_key")
    if len(words) == 1:
        sides = [_prefix_sql(last, words[0]), _prefix_sql(first, words[0])]
    else:
        sides = []
        for x, y in ((words[0], words[-1]), (words[-1], words[0])):
            (sql_x, px), (sql_y, py) = _prefix_sql(last, x), _prefix_sql(first, y)
            sides.append((f"{sql_x} AND {sql_y}", px + py))
    table = q(Patient._meta.db_table)
    parts, params = [], []
    for where, side_params in sides:
        parts.append(f"SELECT {q('id')} FROM (SELECT {q('id')} FROM {table} WHERE {where} "
                     f"ORDER BY {last}, {first}, {q('id')} LIMIT %s) side")
        params += [*side_params, limit]
    # The ids drive the join (SQLite: CROSS JOIN keeps them the outer loop; with an IN
    # it may scan the patients instead), each patient read by its primary key.
    rows = Patient.objects.raw(
        f"SELECT p.* FROM ({' UNION '.join(parts)}) ids CROSS JOIN {table} p "
        f"WHERE p.{q('id')} = ids.{q('id')}", params)
    found = sorted(rows, key=lambda p: (p.last_name_key, p.first_name_key, p.pk))
    return found[:limit]


def _patients_by_mrn(mrn: str, limit: int) -> list[Patient]:
    """Patient.objects.filter(mrn=mrn)[:limit] (in the model's order), as SQL: asked on
    every search the desk types, it cost more CPU to build with the ORM than to run."""
    q = connection.ops.quote_name
    return list(Patient.objects.raw(
        f"SELECT * FROM {q(Patient._meta.db_table)} WHERE {q('mrn')} = %s "
        f"ORDER BY {q('last_name')}, {q('first_name')} LIMIT %s", [mrn, limit]))


def patients_find(query: str, *, limit: int = 8) -> list[Patient]:
    """Find a patient at the desk by name ("smith ada", "Ada Smith"), birth date, phone or MRN.

    Name words match the start of the last or first name in either order (see
    _patients_by_name for the indexes that make this a few index seeks).
    """
    text = query.strip()
    if not text:
        return []
    qs = Patient.objects.all()
    words = [w for w in fold(text).split() if w]
    digits = "".join(c for c in text if c.isdigit())
    born = _parse_date(text) if digits else None  # every date format has digits
    if born:
        return list(qs.filter(birth_date=born)[:limit])
    if digits and len(digits) >= 7 and len(digits) == len(text.replace("-", "").replace(" ", "")
                                                          .replace("(", "").replace(")", "")):
        return list(qs.filter(phone_digits__endswith=digits[-10:])[:limit])
    by_mrn = _patients_by_mrn(text, limit) if len(text) >= 3 else []
    if by_mrn:
        return by_mrn
    if not words:
        return []
    return _patients_by_name(words, limit)


@dataclass(frozen=True, slots=True)
class AskAgainRow:
    """One line of the intake page's ask-again list: what it shows, read as plain values
    (no Referral, Patient and Location instances for ten lines of text)."""

    pk: int
    patient_id: int
    first_name: str
    last_name: str
    received_at: datetime
    source_text: str

    @property
    def patient(self) -> str:
        return f"{self.first_name} {self.last_name}"  # as str(Patient)


def referrals_ask_again(limit: int = 10) -> list[AskAgainRow]:
    """The first `limit` of referrals_unresolved_source() (live, source unresolved, by
    received_at), as AskAgainRows. Written as SQL (prepared on PostgreSQL): the intake page
    asks on every view, and the ORM took longer to build the query than the database took
    to run it."""
    q = connection.ops.quote_name
    referral, patient = q(Referral._meta.db_table), q(Patient._meta.db_table)
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT r.{q('id')}, r.{q('patient_id')}, p.{q('first_name')}, "
            f"p.{q('last_name')}, r.{q('received_at')}, r.{q('source_text')} "
            f"FROM {referral} r INNER JOIN {patient} p ON p.{q('id')} = r.{q('patient_id')} "
            # The status and the limit in the statement, not parameters: the plan kept for
            # every run can then use the partial index of unresolved referrals.
            f"WHERE r.{q('removed_at')} IS NULL "
            f"AND r.{q('source_status')} = '{SourceStatus.UNRESOLVED.value}' "
            f"ORDER BY r.{q('received_at')} LIMIT {int(limit)}")
        rows = cursor.fetchall()
    # SQLite's driver gives the datetime as text here: the field's own converter
    # (PostgreSQL's gives an aware datetime already).
    convert = getattr(connection.ops, "convert_datetimefield_value", None)
    return [AskAgainRow(pk, patient_id, first, last,
                        convert(received, None, connection) if convert else received, text)
            for pk, patient_id, first, last, received, text in rows]


def intake_visit_choices() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The active locations and the active service lines, each by name, as (pk, name): the
    intake form's two selects (a model's str() is its name), read in one statement."""
    q = connection.ops.quote_name
    sql = (f"SELECT 0, {q('id')}, {q('name')} FROM {q(Location._meta.db_table)} "
           f"WHERE {q('is_active')} = %s UNION ALL "
           f"SELECT 1, {q('id')}, {q('name')} FROM {q(ServiceLine._meta.db_table)} "
           f"WHERE {q('is_active')} = %s ORDER BY 1, 3")
    with prepared_cursor() as cursor:
        cursor.execute(sql, [True, True])
        rows = cursor.fetchall()
    return ([(pk, name) for which, pk, name in rows if which == 0],
            [(pk, name) for which, pk, name in rows if which == 1])


def referrals_unresolved_source() -> QuerySet[Referral]:
    """The ask-again list: referrals saved with "don't know" as their source, oldest first."""
    return (
        Referral.objects.filter(source_status=SourceStatus.UNRESOLVED)
        .select_related("patient", "location")
        .order_by("received_at")
    )


# --- The pipeline: list, board, detail and patient pages -------------------------------

PAGE_SIZE = 50
LIST_COUNT_CAP = 20_000  # the list counts this far, then says "more than" (a multiple of 50)
BOARD_CARDS = 25
BOARD_CLOSED_DAYS = 30
OPEN = "open"  # a status filter value meaning "any open status"
# Status filters whose count open_status_count() knows: each open status, and OPEN.
OPEN_STATUS_FILTERS = frozenset([OPEN, *(s.value for s in OPEN_STATUSES)])
# "Reached a stage": the first time a referral got there is kept (contacted_at, ...), and a
# later stage also sets the earlier ones, so this is what the dashboard and reports count.
REACHED_STAGES = {"contacted": "contacted_at", "scheduled": "scheduled_at", "seen": "seen_at"}


def get_referral_for(user: User, pk: int, *, removed_too: bool = False,
                     joined: bool = True) -> Referral:
    """The one way a view gets a referral. 404 (not 403) for a user who may not see it, so
    that an id in a URL does not tell anyone whether the referral exists. A removed
    referral exists only for those who may remove and restore referrals, and only where
    the view asks for it (its own page, restore): nothing else acts on it.

    `joined=False` for a view that only acts on the referral (a status move: its service
    re-reads it under a lock): the patient, source, contact and location are not read
    with it (building that query and its five instances was a quarter of a move's CPU)."""
    if not has_cap(user, Cap.REFERRALS_VIEW):
        raise Http404
    rows = (Referral.all_objects if removed_too and has_cap(user, Cap.REFERRALS_REMOVE)
            else Referral.objects)
    # Four joins, not seven: PostgreSQL plans a join of eight tables in ~6 ms (its join
    # search grows fast with each table) and runs it in 0.2 ms; five plan in ~0.7 ms. The
    # service line and the two users come by primary key when the page shows them.
    if joined:
        rows = rows.select_related("patient", "source_partner", "source_contact", "location")
    return get_object_or_404(rows, pk=pk)


def get_patient_for(user: User, pk: int) -> Patient:
    if not has_cap(user, Cap.PATIENTS_VIEW):
        raise Http404
    return get_object_or_404(Patient, pk=pk)


def _day_start(day: date) -> datetime:
    # Dates on screen are the practice's local days; compare against aware datetimes so
    # the (received_at) indexes stay usable, which a __date lookup would defeat.
    return timezone.make_aware(datetime.combine(day, time.min))


def open_status_counts(location: Location | None = None) -> dict[str, int]:
    """Live referrals per open status, at the location or everywhere, from the counts
    triggers keep exact (reports.OpenStatusCount, migration reports/0007)."""
    from refnet.reports.models import OpenStatusCount

    rows = OpenStatusCount.objects.all()
    if location is not None:
        rows = rows.filter(location_id=location.pk)
    summed = rows.aggregate(**{s.value: Sum(s.value) for s in OPEN_STATUSES})
    return {status: n or 0 for status, n in summed.items()}


def open_status_count(status: str, location: Location | None = None) -> int:
    """How many live referrals are in this open status (OPEN: in any)."""
    counts = open_status_counts(location)
    return sum(counts.values()) if status == OPEN else counts[status]


def referrals_list(
    *,
    status: str = "",
    source_partner_ids: Iterable[int] | None = None,
    location: Location | None = None,
    service_line: ServiceLine | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    unresolved_only: bool = False,
    reached: str = "",
    removed_too: bool = False,
) -> QuerySet[Referral]:
    """Referrals for the list page, newest first. `received_to` includes that whole day;
    `source_partner_ids=[]` means "a source search that matched nobody", so no rows;
    `reached` (contacted|scheduled|seen): only those that got that far, whatever their
    status is now (the dashboard's contacted/scheduled/seen figures). `removed_too`: also
    referrals removed as entered by mistake (the API's include_removed)."""
    # The location comes by a second, tiny query: joined in, it is the one INNER JOIN to a
    # three-row table and SQLite drives the query from it, sorting every referral to show
    # 25 (7 s at 400,000 referrals, against 25 ms when it walks the received_at index).
    qs = (Referral.all_objects if removed_too else Referral.objects).select_related(
        "patient", "source_partner", "service_line", "assigned_to"
    ).prefetch_related("location")
    if status == OPEN:
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if source_partner_ids is not None:
        qs = qs.filter(source_partner_id__in=list(source_partner_ids))
    if location is not None:
        qs = qs.filter(location=location)
    if service_line is not None:
        qs = qs.filter(service_line=service_line)
    if received_from is not None:
        qs = qs.filter(received_at__gte=_day_start(received_from))
    if received_to is not None:
        qs = qs.filter(received_at__lt=_day_start(received_to + timedelta(days=1)))
    if unresolved_only:
        qs = qs.filter(source_status=SourceStatus.UNRESOLVED)
    if reached:
        qs = qs.filter(**{f"{REACHED_STAGES[reached]}__isnull": False})
    return qs.order_by("-received_at", "-id")


# The columns the list page shows, read as plain values (ReferralListRow): a referral row
# carries ~30 columns and its joined patient, source and assignee ~50 more, and building
# five model instances a row (Model.__init__ over every field, the related caches) cost
# ~3 ms of a page's 50 rows on SQLite and PostgreSQL, three times the values themselves.
# Only the patient and the source are joined: PostgreSQL plans a join of five tables in
# ~1.3 ms and of three in ~0.4 ms (running it takes ~0.5 ms); the service lines are a few
# rows the page reads anyway, and the assignees come by id.
LIST_ROW_COLUMNS = (
    "id", "received_at", "status", "source_status", "source_text", "patient_id",
    "source_partner_id", "location_id", "service_line_id", "assigned_to_id",
    "patient__first_name", "patient__last_name", "source_partner__name",
)
_STATUS_LABELS = dict(ReferralStatus.choices)
_SOURCE_STATUS_LABELS = dict(SourceStatus.choices)


@dataclass(slots=True)
class ReferralListRow:
    """One referral as the list page shows it. `patient` and `source_partner` are what
    str() gives of the Patient and the Partner (keep them in step with their __str__)."""

    pk: int
    received_at: datetime
    status: str
    source_status: str
    source_text: str
    patient_id: int
    patient: str
    source_partner_id: int | None
    source_partner: str | None
    location: Location
    service_line: ServiceLine | None
    assigned_to: User | None

    def get_status_display(self) -> str:
        return _STATUS_LABELS.get(self.status, self.status)

    def get_source_status_display(self) -> str:
        return _SOURCE_STATUS_LABELS.get(self.source_status, self.source_status)


def referral_list_values(referrals: QuerySet[Referral]) -> QuerySet:
    """The list page's columns of `referrals` (from referrals_list), as tuples for
    referral_list_rows(); slice it for a page."""
    return referrals.prefetch_related(None).values_list(*LIST_ROW_COLUMNS)


def referral_list_rows(values: Iterable[tuple], *, locations: dict[int, Location],
                       service_lines: dict[int, ServiceLine]) -> list[ReferralListRow]:
    """Rows from referral_list_values() tuples, with every location and service line by
    id (in_bulk()); the assignees are read here, in one query if any."""
    values = list(values)
    assignee_ids = {v[9] for v in values if v[9] is not None}
    assignees = (User.objects.only("first_name", "last_name", "username")
                 .in_bulk(assignee_ids) if assignee_ids else {})
    rows = []
    for (pk, received_at, status, source_status, source_text, patient_id, source_partner_id,
         location_id, service_line_id, assigned_to_id, patient_first, patient_last,
         source_name) in values:
        rows.append(ReferralListRow(
            pk=pk, received_at=received_at, status=status, source_status=source_status,
            source_text=source_text, patient_id=patient_id,
            patient=f"{patient_first} {patient_last}",
            source_partner_id=source_partner_id,
            source_partner=source_name if source_partner_id is not None else None,
            location=locations[location_id],
            service_line=(service_lines[service_line_id] if service_line_id is not None
                          else None),
            assigned_to=assignees.get(assigned_to_id) if assigned_to_id is not None else None,
        ))
    return rows


# What a board card shows, read as plain values (no model instances: 150 cards came as
# 450 referral, patient and partner objects, more Python than the rest of the page).
BOARD_CARD_COLUMNS = ("id", "received_at", "status", "status_changed_at", "source_status",
                      "patient_id", "location_id", "source_partner_id", "patient__first_name",
                      "patient__last_name", "source_partner__name")


@dataclass(slots=True)
class BoardCard:
    """One card: what {% board_card %} draws, and the patient id the audit row names."""

    pk: int
    received_at: datetime
    status: str
    status_changed_at: datetime
    source_status: str
    patient_id: int
    location: Location
    source_partner_id: int | None
    patient: str  # the patient's name as shown ("First Last", as Patient.__str__)
    source_partner: str | None  # the source partner's name, None without one

    @property
    def id(self) -> int:
        return self.pk


@dataclass
class BoardColumn:
    status: str
    label: str
    count: int
    cards: list[BoardCard]
    closed: bool


def _board_cards_sql(base: QuerySet[Referral], since: datetime) -> tuple[str, list]:
    """Every column's newest cards in one statement: one sub-select per status (each walks
    its own index and stops at BOARD_CARDS), glued with UNION ALL. Six querysets built,
    compiled and run one by one cost more Python than the cards themselves."""
    parts, params = [], []
    for status in ReferralStatus:
        closed = status not in OPEN_STATUSES
        column = base.filter(status=status)
        if closed:
            column = column.filter(status_changed_at__gte=since)
        column = (column.order_by(*(("-status_changed_at", "-id") if closed
                                    else ("-received_at", "-id")))
                  .values_list(*BOARD_CARD_COLUMNS)[:BOARD_CARDS])
        sql, more = column.query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) board_{len(parts)}")
        params += more
    return " UNION ALL ".join(parts), params


def referrals_board(*, location: Location | None = None) -> list[BoardColumn]:
    """One column per status, in pipeline order.

    1. Count each status: open ones from the counts triggers keep, closed ones in one
       aggregate query. Closed columns only count referrals that closed in the last
       BOARD_CLOSED_DAYS, the same window their cards come from, so the number on a
       column always describes what the column is about.
    2. Fetch the newest BOARD_CARDS cards of each column, in one statement: open ones by
       when they were received, closed ones by when they closed.
    """
    since = timezone.now() - timedelta(days=BOARD_CLOSED_DAYS)
    base = Referral.objects.all()
    if location is not None:
        base = base.filter(location=location)
    # Open statuses: the per-location counts that triggers keep exact (reports
    # OpenStatusCount, migration reports/0007): counting ~100,000 open referrals from the
    # status index cost PostgreSQL ~10 ms a board. Recently closed ones are few: COUNT(*)
    # over the closed statuses named in full (IN (...), not NOT IN (open)), each an
    # equality on the (status, status_changed_at, id, removed_at) index, which answers
    # alone.
    counts = open_status_counts(location)
    counts.update(base.filter(status__in=CLOSED_STATUSES, status_changed_at__gte=since)
                  .order_by().values("status").annotate(n=Count("*"))
                  .values_list("status", "n"))
    # The few locations once (see referrals_list for why they are not joined in).
    locations = Location.objects.in_bulk()
    sql, params = _board_cards_sql(base, since)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # SQLite hands back datetimes as text through a compound select: the field's own
    # converter (PostgreSQL's driver gives aware datetimes already).
    convert = getattr(connection.ops, "convert_datetimefield_value", None)
    by_status: dict[str, list[BoardCard]] = {status.value: [] for status in ReferralStatus}
    for (pk, received_at, status, changed_at, source_status, patient_id, location_id,
         source_id, first_name, last_name, source_name) in rows:
        if convert is not None:
            received_at = convert(received_at, None, connection)
            changed_at = convert(changed_at, None, connection)
        by_status[status].append(BoardCard(
            pk, received_at, status, changed_at, source_status, patient_id,
            locations[location_id], source_id, f"{first_name} {last_name}", source_name))
    columns = []
    for status in ReferralStatus:
        closed = status not in OPEN_STATUSES
        cards = by_status[status.value]
        # UNION ALL keeps no order: each column's own, newest first.
        cards.sort(key=(lambda c: (c.status_changed_at, c.pk)) if closed
                   else (lambda c: (c.received_at, c.pk)), reverse=True)
        columns.append(BoardColumn(status=status.value, label=status.label,
                                   count=counts.get(status.value, 0), cards=cards,
                                   closed=closed))
    return columns


def referral_timeline(referral: Referral) -> QuerySet[ReferralEvent]:
    return referral.events.select_related("by").order_by("at", "id")


def patient_referrals(patient: Patient) -> QuerySet[Referral]:
    return patient.referrals.select_related(
        "source_partner", "location", "service_line", "assigned_to"
    ).order_by("-received_at", "-id")


@dataclass
class SourceCandidate:
    """One answer to "Who referred this patient?": a partner, and the contact there whose
    name matched, if it was a contact's name."""

    partner: Partner
    contact: Contact | None

    @property
    def value(self) -> str:
        return f"{self.partner.pk}-{self.contact.pk}" if self.contact else str(self.partner.pk)


def source_candidates(query: str, *, limit: int = 8) -> list[SourceCandidate]:
    matches = partners_search(query, limit=limit)
    partners = Partner.objects.in_bulk([m.partner_id for m in matches])
    contacts = Contact.objects.in_bulk([m.contact_id for m in matches if m.contact_id])
    return [
        SourceCandidate(partner=partners[m.partner_id], contact=contacts.get(m.contact_id))
        for m in matches
        if m.partner_id in partners
    ]


# --- Removed referrals -----------------------------------------------------------------


def referral_open_removal(referral: Referral) -> ReferralRemoval | None:
    """The removal in force for a removed referral (None if it is not removed)."""
    if referral.removed_at is None:
        return None
    return referral.removals.filter(restored_at__isnull=True).select_related(
        "removed_by").first()


def referrals_removed(limit: int = 500) -> list[ReferralRemoval]:
    """Removals in force, most recent first (at most `limit`), each with its referral,
    patient, source and location, and who removed it."""
    return list(
        ReferralRemoval.objects.filter(restored_at__isnull=True,
                                       referral__removed_at__isnull=False)
        .select_related("referral__patient", "referral__source_partner",
                        "referral__location", "removed_by")
        .order_by("-removed_at", "-id")[:limit])
