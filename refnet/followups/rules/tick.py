"""The incremental pass (rules_tick) and the full pass (rules_full_pass).

rules_tick(now):
1. Read the cursor. Probe for referral events and visits with an id above it (two indexed
   queries); an idle tick stops there, plus the daily check below, which is in memory.
2. For each chunk of new rows, in one transaction that locks the cursor row (so workers
   take turns instead of doing the same chunk twice): turn rows into triggers, plan, commit,
   advance the cursor. The first run ever starts at the first row within
   REFNET_RULES_LOOKBACK_DAYS.
3. Once per local day, claimed with a compare-and-set on cursor.daily_pass_on: the partner
   pass (skips, check-ins, gone quiet, progress every N days).

rules_full_pass(now): steps 2 and 3 over everything in the lookback window, whatever the
cursor says, then moves the cursor past what it read.

Keys are unique and inserts ignore conflicts, so overlapping passes never double.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from refnet.referrals.models import ReferralEvent, ReferralStatus, Visit

from ..models import RuleCursor
from .engine import (
    JOINED_FIELDS,
    RECORDED,
    RESOLVED,
    SEEN,
    SOURCE_RECORDED,
    VISIT,
    Batch,
    Trigger,
    joined_facts,
    plan_referral_triggers,
)
from .partner_pass import partner_pass

CURSOR_NAME = "rules"
ROWS_PER_CHUNK = 20000  # rows read, planned and committed per transaction


def _cursor() -> RuleCursor:
    try:
        return RuleCursor.objects.get_or_create(name=CURSOR_NAME)[0]
    except IntegrityError:  # another worker created it at the same moment
        return RuleCursor.objects.get(name=CURSOR_NAME)


def _event_triggers(rows: list[tuple]) -> list[Trigger]:
    triggers = []
    for _id, referral_id, at, from_status, to_status, note, *_joined in rows:
        if to_status == ReferralStatus.RECEIVED and not from_status:
            triggers.append(Trigger(RECORDED, referral_id, at))
        elif to_status == ReferralStatus.SEEN:
            triggers.append(Trigger(SEEN, referral_id, at))
        elif not to_status and note.startswith(SOURCE_RECORDED):
            triggers.append(Trigger(RESOLVED, referral_id, at, note=note))
    return triggers


def _visit_triggers(rows: list[tuple]) -> list[Trigger]:
    return [Trigger(VISIT, referral_id, at, visit_id=pk, visit_kind=kind)
            for pk, referral_id, at, kind, *_joined in rows]


SOURCES: dict[str, tuple[type, tuple[str, ...], Callable, str]] = {
    "events": (ReferralEvent, ("id", "referral_id", "at", "from_status", "to_status", "note"),
               _event_triggers, "last_event_id"),
    "visits": (Visit, ("id", "referral_id", "at", "kind"), _visit_triggers, "last_visit_id"),
}


def _drain(source: str, *, now: datetime, counts: Counter, since: datetime | None,
           ceiling: int | None, start_after: int | None) -> None:
    """Read the rows after the cursor in chunks, each chunk planned and committed with the
    cursor moved in one transaction. With start_after (the full pass) the cursor only says
    where to move to, not where to start."""
    model, fields, to_triggers, cursor_field = SOURCES[source]
    after = start_after
    while True:
        with transaction.atomic():
            cursor = RuleCursor.objects.select_for_update().get(name=CURSOR_NAME)
            position = after if after is not None else getattr(cursor, cursor_field)
            rows: QuerySet = model.objects.filter(id__gt=position)
            if since is not None:
                rows = rows.filter(at__gte=since)
            if ceiling is not None:
                rows = rows.filter(id__lte=ceiling)
            chunk = list(rows.order_by("id").values_list(*fields, *JOINED_FIELDS)
                         [:ROWS_PER_CHUNK])
            if not chunk:
                if ceiling is not None and getattr(cursor, cursor_field) < ceiling:
                    setattr(cursor, cursor_field, ceiling)
                    cursor.save(update_fields=[cursor_field, "updated_at"])
                return
            batch = Batch(now=now)
            plan_referral_triggers(batch, to_triggers(chunk),
                                   joined_facts(chunk, len(fields)))
            counts.update(batch.commit())
            counts[source] += len(chunk)
            after = chunk[-1][0]
            if getattr(cursor, cursor_field) < after:
                setattr(cursor, cursor_field, after)
                cursor.save(update_fields=[cursor_field, "updated_at"])


def _daily(now: datetime, counts: Counter, *, force: bool) -> None:
    today = timezone.localdate(now)
    with transaction.atomic():
        claimed = (RuleCursor.objects.filter(name=CURSOR_NAME).exclude(daily_pass_on=today)
                   .update(daily_pass_on=today))
        if claimed or force:
            counts.update(partner_pass(Batch(now=now)))
            counts["daily_pass"] += 1


def rules_tick(*, now: datetime | None = None) -> dict[str, int]:
    """The worker's incremental pass; returns counts (created, per kind, events, visits...)."""
    now = now or timezone.now()
    counts: Counter = Counter()
    cursor = _cursor()
    lookback = now - timedelta(days=settings.REFNET_RULES_LOOKBACK_DAYS)
    for source, (model, _f, _t, cursor_field) in SOURCES.items():
        position = getattr(cursor, cursor_field)
        if position == 0:
            # First run: start at the lookback window; older rows are history, not news.
            ceiling = model.objects.aggregate(top=Max("id"))["top"]
            if ceiling:
                _drain(source, now=now, counts=counts, since=lookback, ceiling=ceiling,
                       start_after=0)
        elif model.objects.filter(id__gt=position).exists():
            _drain(source, now=now, counts=counts, since=None, ceiling=None,
                   start_after=None)
    if cursor.daily_pass_on != timezone.localdate(now):
        _daily(now, counts, force=False)
    return dict(counts)


def rules_full_pass(*, now: datetime | None = None) -> dict[str, int]:
    """Everything in the lookback window and the partner pass, whatever the cursor says."""
    now = now or timezone.now()
    counts: Counter = Counter()
    _cursor()
    lookback = now - timedelta(days=settings.REFNET_RULES_LOOKBACK_DAYS)
    for source, (model, *_rest) in SOURCES.items():
        span = model.objects.filter(at__gte=lookback).aggregate(low=Min("id"), top=Max("id"))
        top = model.objects.aggregate(top=Max("id"))["top"]
        if top:
            _drain(source, now=now, counts=counts, since=lookback, ceiling=top,
                   start_after=(span["low"] or top + 1) - 1)
    _daily(now, counts, force=True)
    return dict(counts)
