"""Planning follow-ups in batches, and the referral rules (thank, outcome, progress, ask
again) shared by the service hooks and the incremental pass.

A Batch collects planned follow-ups by key (a later plan for the same key replaces an
earlier one), then commit():
1. drops the keys that already exist (one indexed query per 2,000 keys);
2. for rules in auto mode, queues the message through outbox.compose.message_send with
   dedupe_key "auto:<key>" and records the follow-up as done; if the message cannot be
   made (no template, no address, opted out) the follow-up stays a reminder whose summary
   says why;
3. inserts the rest with raw INSERT ... ignoring conflicts (insert_followups: what
   bulk_create(ignore_conflicts=True) did, at a fraction of the cost): a key (or the
   one-open check-in per partner) that another worker inserted meanwhile is silently kept
   as is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from refnet.outbox.models import Purpose
from refnet.partners.models import CLINICAL_KINDS
from refnet.referrals.models import Referral, SourceStatus, Visit, VisitKind

from ..models import DoneHow, FollowUp, FollowUpStatus, RuleKind, RuleMode
from .resolve import EffectiveRule, PartnerFacts, RuleBook
from .timing import Assigner, due_after, short_date

CHUNK = 2000

PURPOSE = {
    RuleKind.THANK_REFERRER: Purpose.THANK_YOU,
    RuleKind.OUTCOME_UPDATE: Purpose.OUTCOME_UPDATE,
    RuleKind.PROGRESS_REPORT: Purpose.PROGRESS_REPORT,
    RuleKind.CHECK_IN: Purpose.CHECK_IN,
    RuleKind.REENGAGE: Purpose.REENGAGE,
}

# ReferralEvent.note that referral_resolve_source writes: how the incremental pass tells
# a resolved source from other notes on the timeline.
SOURCE_RECORDED = "Source recorded:"


# Rows per INSERT statement (PostgreSQL: one array per column) or per executemany (SQLite).
INSERT_ROWS = 20000
# The columns a plan fills; the other columns of FollowUp get their model default.
PLAN_COLUMNS = ("key", "kind", "status", "partner_id", "referral_id", "location_id",
                "assignee_id", "due_at", "original_due_at", "summary", "created_at",
                "completed_at", "completed_by_id", "done_how", "message_id")


def existing_keys(keys: list[str]) -> set[str]:
    """The keys among these that are already follow-ups (one indexed query per CHUNK)."""
    found: set[str] = set()
    if not keys:
        return found
    table = connection.ops.quote_name(FollowUp._meta.db_table)
    if connection.vendor == "postgresql":
        with server_bound_cursor() as cursor:
            for start in range(0, len(keys), INSERT_ROWS):
                cursor.execute(f'SELECT "key" FROM {table} WHERE "key" = ANY(%s)',
                               [keys[start:start + INSERT_ROWS]])
                found.update(key for (key,) in cursor.fetchall())
        return found
    with connection.cursor() as cursor:
        for start in range(0, len(keys), CHUNK):
            part = keys[start:start + CHUNK]
            cursor.execute(f"SELECT {connection.ops.quote_name('key')} FROM {table} "
                           f"WHERE {connection.ops.quote_name('key')} IN "
                           f"({', '.join(['%s'] * len(part))})", part)
            found.update(key for (key,) in cursor.fetchall())
    return found


def insert_followups(plans: list[Plan]) -> None:
    """Insert the planned follow-ups, ignoring conflicts (a key, or the one open check-in or
    re-engage per partner, that another worker inserted meanwhile is kept as it is), as
    bulk_create(ignore_conflicts=True) would, without building model instances: SQLite
    INSERT OR IGNORE with executemany, PostgreSQL INSERT ... SELECT FROM unnest(arrays)
    ... ON CONFLICT DO NOTHING. Like bulk_create, it writes no history rows."""
    if not plans:
        return
    ops = connection.ops
    by_column = {f.column: f for f in FollowUp._meta.concrete_fields}
    extra = [f for f in FollowUp._meta.concrete_fields
             if f.column not in PLAN_COLUMNS and not f.primary_key]
    columns = [by_column[c] for c in PLAN_COLUMNS] + extra
    extra_values = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra)
    stamp: dict[datetime | None, Any] = {None: None}

    def db_time(value: datetime | None) -> Any:
        # Due times are 17:00 on a few dozen days: adapt each once.
        try:
            return stamp[value]
        except KeyError:
            stamp[value] = adapted = ops.adapt_datetimefield_value(value)
            return adapted

    created = db_time(timezone.now())
    rows = []
    for p in plans:
        due = db_time(p.due_at)
        rows.append((p.key, p.kind, p.status, p.partner_id, p.referral_id, p.location_id,
                     p.assignee_id, due, due, p.summary, created, db_time(p.completed_at),
                     p.completed_by_id, p.done_how, p.message_id) + extra_values)
    table = ops.quote_name(FollowUp._meta.db_table)
    names = ", ".join(ops.quote_name(f.column) for f in columns)
    if connection.vendor == "postgresql":
        # %b: the arrays go in binary (half the time of text for psycopg to write).
        arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in columns)
        sql = (f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
               "ON CONFLICT DO NOTHING")
        with server_bound_cursor() as cursor:
            for start in range(0, len(rows), INSERT_ROWS):
                cursor.execute(sql, [list(column) for column in
                                     zip(*rows[start:start + INSERT_ROWS], strict=True)])
        return
    sql = (f"INSERT OR IGNORE INTO {table} ({names}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_ROWS):
            cursor.executemany(sql, rows[start:start + INSERT_ROWS])


def server_bound_cursor() -> Any:
    """PostgreSQL: a psycopg cursor on Django's connection (same transaction) that sends
    parameters apart from the query. Django's cursors bind on the client, which spells a
    20,000-element array out as SQL text: most of the cost of a large insert."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


class Plan:
    """A planned follow-up as plain values (no model instance: a full pass plans ~165,000)."""

    __slots__ = ("key", "kind", "partner_id", "referral_id", "location_id", "assignee_id",
                 "due_at", "summary", "mode", "contact_id", "status", "done_how",
                 "message_id", "completed_at", "completed_by_id")

    def __init__(self, key: str, kind: str, partner_id: int | None, referral_id: int | None,
                 location_id: int | None, assignee_id: int | None, due_at: datetime,
                 summary: str, mode: str, contact_id: int | None = None) -> None:
        self.key, self.kind, self.partner_id, self.referral_id = key, kind, partner_id, \
            referral_id
        self.location_id, self.assignee_id, self.due_at, self.summary = location_id, \
            assignee_id, due_at, summary
        self.mode, self.contact_id = mode, contact_id
        self.status, self.done_how = FollowUpStatus.OPEN, ""
        self.message_id = self.completed_at = self.completed_by_id = None


class Batch:
    def __init__(self, *, now: datetime, by: Any = None, book: RuleBook | None = None,
                 assigner: Assigner | None = None) -> None:
        self.now = now
        self.by = by
        self.book = book or RuleBook()
        self.assigner = assigner or Assigner()
        # Read once: timezone.localdate() looks the current time zone up on every call.
        self.tz = timezone.get_current_timezone()
        self.plans: dict[str, Plan] = {}
        self.closes: dict[str, str] = {}  # ask-again keys to close as done, with the note

    def add(self, *, key: str, rule: EffectiveRule, partner: PartnerFacts | None,
            referral_id: int | None, location_id: int | None, assignee_id: int | None,
            due_at: datetime, summary: str, contact_id: int | None = None) -> None:
        self.plans[key] = Plan(key, rule.kind, partner.id if partner else None, referral_id,
                               location_id, assignee_id, due_at, summary[:300], rule.mode,
                               contact_id)

    def commit(self) -> Counter:
        counts: Counter = Counter()
        existing = existing_keys(list(self.plans))
        fresh = [plan for key, plan in self.plans.items() if key not in existing]
        for plan in fresh:
            if plan.mode == RuleMode.AUTO and plan.kind in PURPOSE:
                self._send(plan, counts)
        insert_followups(fresh)
        counts.update(str(plan.kind) for plan in fresh)
        counts["created"] += len(fresh)
        if self.closes:
            counts["closed"] += self._close_ask_source()
        self.plans.clear()
        return counts

    def _send(self, plan: Plan, counts: Counter) -> None:
        from refnet.partners.models import Contact, Partner

        try:
            from refnet.outbox.compose import message_send
        except ImportError:
            reason = "automatic sending is not set up"
        else:
            partner = Partner.objects.get(pk=plan.partner_id)
            referral = (Referral.objects.select_related("patient").get(pk=plan.referral_id)
                        if plan.referral_id else None)
            contact = (Contact.objects.filter(pk=plan.contact_id).first()
                       if plan.contact_id else None)
            try:
                with transaction.atomic():  # a refusal must not spoil the caller's work
                    message = message_send(
                        purpose=PURPOSE[plan.kind], partner=partner, contact=contact,
                        referral=referral, by=self.by, dedupe_key=f"auto:{plan.key}",
                    )
            except ValidationError as error:
                reason = "; ".join(error.messages)
            else:
                plan.status = FollowUpStatus.DONE
                plan.done_how = DoneHow.AUTO_SENT
                plan.message_id = message.pk
                plan.completed_at = self.now
                plan.completed_by_id = self.by.pk if self.by is not None else None
                counts["auto_sent"] += 1
                return
        plan.summary = f"{plan.summary} (not sent automatically: {reason})"[:300]
        counts["auto_failed"] += 1

    def _close_ask_source(self) -> int:
        closed = 0
        for followup in FollowUp.objects.filter(key__in=list(self.closes),
                                                status=FollowUpStatus.OPEN):
            followup.status = FollowUpStatus.DONE
            followup.done_how = DoneHow.OTHER
            followup.note = self.closes[followup.key]
            followup.completed_at = self.now
            followup.completed_by = self.by
            followup._history_user = self.by
            followup.save()
            closed += 1
        self.closes.clear()
        return closed


# --- Referral rules ------------------------------------------------------------------

RECORDED, SEEN, RESOLVED, VISIT = "recorded", "seen", "resolved", "visit"


@dataclass(frozen=True)
class Trigger:
    """Something that happened to a referral that the rules answer."""

    what: str
    referral_id: int
    at: datetime
    visit_id: int | None = None
    visit_kind: str = ""
    note: str = ""


REFERRAL_FIELDS = ("id", "source_partner_id", "source_contact_id", "source_status",
                   "location_id", "received_at", "status", "removed_at")


# A referral's columns and its source partner's, as tick.py reads them joined to the
# events and visits themselves (no second query per chunk of referral ids).
JOINED_FIELDS = (tuple(f"referral__{f}" for f in REFERRAL_FIELDS[1:])
                 + tuple(f"referral__source_partner__{f}" for f in PartnerFacts.FIELDS))


def joined_facts(rows: list[tuple], offset: int
                 ) -> tuple[dict[int, dict], dict[int, PartnerFacts]]:
    """(referrals, partners) from rows with the referral id in column 1 and JOINED_FIELDS
    from column `offset` on, as plan_referral_triggers would load them."""
    referrals: dict[int, dict] = {}
    partners: dict[int, PartnerFacts] = {}
    split = offset + len(REFERRAL_FIELDS) - 1
    for row in rows:
        referral_id = row[1]
        if referral_id not in referrals:
            referrals[referral_id] = dict(zip(REFERRAL_FIELDS, (referral_id,) + row[offset:split],
                                              strict=True))
            if row[split] is not None and row[split] not in partners:
                partners[row[split]] = PartnerFacts(*row[split:])
    return referrals, partners


def plan_referral_triggers(batch: Batch, triggers: list[Trigger],
                           facts: tuple[dict[int, dict], dict[int, PartnerFacts]] | None = None,
                           ) -> None:
    """Plan the follow-ups these triggers call for (in order: a later one for the same key
    wins, so a source resolved after recording is thanked from the day it was resolved).
    facts: the referrals and partners, if the caller has read them (joined_facts)."""
    if not triggers:
        return
    if facts is not None:
        referrals, partners = facts
    else:
        ids = sorted({t.referral_id for t in triggers})
        referrals = {}
        for start in range(0, len(ids), CHUNK):
            for row in Referral.objects.filter(pk__in=ids[start:start + CHUNK]).values(
                    *REFERRAL_FIELDS):
                referrals[row["id"]] = row
        partners = PartnerFacts.load(r["source_partner_id"] for r in referrals.values()
                                     if r["source_partner_id"])
    batch.book.load_overrides(partners)
    ordinals = _visit_ordinals([t.referral_id for t in triggers if t.what == VISIT])
    for trigger in triggers:
        referral = referrals.get(trigger.referral_id)
        if referral is None or referral["removed_at"] is not None:
            continue  # a removed referral (entered by mistake) is thanked for nothing
        partner = partners.get(referral["source_partner_id"])
        known = referral["source_status"] == SourceStatus.KNOWN and partner is not None
        if trigger.what == RECORDED:
            if referral["source_status"] == SourceStatus.UNRESOLVED:
                _ask_source(batch, referral, trigger.at)
            elif known:
                _thank(batch, referral, partner, referral["received_at"])
        elif trigger.what == RESOLVED:
            batch.closes[f"ask_source:r{referral['id']}"] = trigger.note or "Source recorded."
            if known:
                _thank(batch, referral, partner, trigger.at)
        elif trigger.what == SEEN and known:
            _outcome(batch, referral, partner, trigger.at)
        elif trigger.what == VISIT and known:
            _progress_visit(batch, referral, partner, trigger, ordinals.get(trigger.visit_id))


def _visit_ordinals(referral_ids: list[int]) -> dict[int, int]:
    """visit id -> its number among its referral's visits, in the order they were recorded."""
    ordinals: dict[int, int] = {}
    ids = sorted(set(referral_ids))
    for start in range(0, len(ids), CHUNK):
        seen: Counter = Counter()
        for referral_id, visit_id in (Visit.objects.filter(referral_id__in=ids[start:start +
                                                                               CHUNK])
                                      .order_by("id").values_list("referral_id", "id")):
            seen[referral_id] += 1
            ordinals[visit_id] = seen[referral_id]
    return ordinals


def _referral_assignee(batch: Batch, referral: dict, partner: PartnerFacts) -> int | None:
    # Messages about a referral to a clinical partner name the patient (audience clinical).
    return batch.assigner.for_referral(owner_id=partner.owner_id,
                                       location_id=referral["location_id"],
                                       names_patient=partner.kind in CLINICAL_KINDS)


def _thank(batch: Batch, referral: dict, partner: PartnerFacts, at: datetime) -> None:
    rule = batch.book.for_partner(RuleKind.THANK_REFERRER, partner)
    if rule is None:
        return
    batch.add(
        key=f"thank:r{referral['id']}", rule=rule, partner=partner,
        referral_id=referral["id"], location_id=referral["location_id"],
        assignee_id=_referral_assignee(batch, referral, partner),
        due_at=due_after(at, rule.due_days, batch.tz), contact_id=referral["source_contact_id"],
        summary=f"Thank {partner.name} for a referral received "
                f"{short_date(referral['received_at'], batch.tz)}",
    )


def _ask_source(batch: Batch, referral: dict, at: datetime) -> None:
    rule = batch.book.for_partner(RuleKind.ASK_SOURCE, None)
    if rule is None:
        return
    batch.add(
        key=f"ask_source:r{referral['id']}", rule=rule, partner=None,
        referral_id=referral["id"], location_id=referral["location_id"],
        assignee_id=batch.assigner.for_location(referral["location_id"]),
        due_at=due_after(at, rule.due_days, batch.tz),
        summary=f"Ask again who referred referral #{referral['id']} "
                f"(received {short_date(referral['received_at'], batch.tz)}): "
                "the source is unknown",
    )


def _outcome(batch: Batch, referral: dict, partner: PartnerFacts, at: datetime) -> None:
    received = short_date(referral["received_at"], batch.tz)
    rule = batch.book.for_partner(RuleKind.OUTCOME_UPDATE, partner)
    if rule is not None:
        batch.add(
            key=f"outcome:r{referral['id']}", rule=rule, partner=partner,
            referral_id=referral["id"], location_id=referral["location_id"],
            assignee_id=_referral_assignee(batch, referral, partner),
            due_at=due_after(at, rule.due_days, batch.tz),
            contact_id=referral["source_contact_id"],
            summary=f"Send {partner.name} the outcome of a referral received {received} "
                    f"(seen {short_date(at, batch.tz)})",
        )
    progress = batch.book.for_partner(RuleKind.PROGRESS_REPORT, partner)
    if progress is not None and progress.progress_after_evaluation:
        batch.add(
            key=f"progress:r{referral['id']}:eval", rule=progress, partner=partner,
            referral_id=referral["id"], location_id=referral["location_id"],
            assignee_id=_referral_assignee(batch, referral, partner),
            due_at=due_after(at, progress.due_days, batch.tz),
            contact_id=referral["source_contact_id"],
            summary=f"Send {partner.name} a progress report after the evaluation "
                    f"(referral received {received})",
        )


def _progress_visit(batch: Batch, referral: dict, partner: PartnerFacts, trigger: Trigger,
                    ordinal: int | None) -> None:
    rule = batch.book.for_partner(RuleKind.PROGRESS_REPORT, partner)
    if rule is None:
        return
    received = short_date(referral["received_at"], batch.tz)
    if trigger.visit_kind == VisitKind.DISCHARGE and rule.progress_at_discharge:
        key, what = f"progress:r{referral['id']}:discharge", "at discharge"
    elif rule.progress_every_visits and ordinal and ordinal % rule.progress_every_visits == 0:
        key, what = f"progress:r{referral['id']}:v{ordinal}", f"after {ordinal} visits"
    else:
        return
    batch.add(
        key=key, rule=rule, partner=partner, referral_id=referral["id"],
        location_id=referral["location_id"],
        assignee_id=_referral_assignee(batch, referral, partner),
        due_at=due_after(trigger.at, rule.due_days, batch.tz),
        contact_id=referral["source_contact_id"],
        summary=f"Send {partner.name} a progress report {what} (referral received {received})",
    )


# --- The hooks the referral services call, inside their transaction --------------------

def _run(triggers: list[Trigger], *, by: Any, now: datetime | None) -> dict[str, int]:
    batch = Batch(now=now or timezone.now(), by=by)
    plan_referral_triggers(batch, triggers)
    return dict(batch.commit())


def on_referral_recorded(referral: Referral, *, by: Any = None,
                         now: datetime | None = None) -> dict[str, int]:
    """Thank the referrer, or (source unknown) ask again.

    The referral was saved just now in the caller's transaction and its source partner
    read or made there: their facts come from the instances, not from two more queries."""
    at = now or timezone.now()
    partner = referral.source_partner if referral.source_partner_id else None
    facts = ({referral.pk: {f: getattr(referral, f) for f in REFERRAL_FIELDS}},
             {partner.pk: PartnerFacts.of(partner)} if partner is not None else {})
    batch = Batch(now=at, by=by)
    plan_referral_triggers(batch, [Trigger(RECORDED, referral.pk, at)], facts)
    return dict(batch.commit())


def on_referral_transition(referral: Referral, *, to_status: str, by: Any = None,
                           now: datetime | None = None) -> dict[str, int]:
    """Seen: the outcome update (and the after-evaluation progress report) for a clinician."""
    if to_status != "seen":
        return {}
    at = now or timezone.now()
    return _run([Trigger(SEEN, referral.pk, at)], by=by, now=at)


def on_visit_recorded(visit: Visit, *, by: Any = None,
                      now: datetime | None = None) -> dict[str, int]:
    """Progress reports every N visits and at discharge."""
    return _run([Trigger(VISIT, visit.referral_id, visit.at, visit_id=visit.pk,
                         visit_kind=visit.kind)], by=by, now=now)


def on_source_resolved(referral: Referral, *, by: Any = None,
                       now: datetime | None = None) -> dict[str, int]:
    """Close the ask-again follow-up, then thank the now-known referrer."""
    at = now or timezone.now()
    name = referral.source_partner.name if referral.source_partner_id else "?"
    return _run([Trigger(RESOLVED, referral.pk, at, note=f"{SOURCE_RECORDED} {name}")],
                by=by, now=at)
