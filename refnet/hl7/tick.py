"""The worker's hook (one line in outbox/management/commands/worker.py): each tick, queue an
RRI^I12 for every status change of a referral that came by HL7 (reading the referral
timeline after a cursor, like the rules tick), then deliver the due replies over MLLP.

Delivery: a row is claimed with a compare-and-set (queued -> sending), sent, and marked
sent (the peer's ACK was AA/CA), failed (the peer refused it: AE/AR/CE/CR, recorded; a
resend would get the same answer), or put back with a backoff after a network error, dead
after MAX_ATTEMPTS. A row left in "sending" by a worker that died is reclaimed after
LEASE. run(now) never raises: a failure is logged and the next tick tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from refnet.referrals.models import ReferralEvent

from .mapping import ack_code_of
from .mllp import mllp_send
from .models import HL7Cursor, HL7Message, HL7Outgoing, OutgoingStatus
from .services import reply_queue

log = logging.getLogger("refnet.worker")
CURSOR_NAME = "replies"
EVENTS_PER_CHUNK = 500
DELIVER_PER_TICK = 20
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600
LEASE = timedelta(minutes=5)
SEND_TIMEOUT = 10.0


def _cursor() -> HL7Cursor:
    try:
        return HL7Cursor.objects.get_or_create(name=CURSOR_NAME)[0]
    except IntegrityError:
        return HL7Cursor.objects.get(name=CURSOR_NAME)


def replies_queue_new(now: datetime) -> int:
    """RRI^I12 rows for the status changes after the cursor; returns how many were queued."""
    _cursor()
    queued = 0
    top = ReferralEvent.objects.aggregate(top=Max("id"))["top"] or 0
    while True:
        with transaction.atomic():
            cursor = HL7Cursor.objects.select_for_update().get(name=CURSOR_NAME)
            if cursor.last_event_id >= top:
                return queued
            hl7_referrals = HL7Message.objects.filter(ack_code="AA", referral__isnull=False)
            events = list(
                ReferralEvent.objects.filter(
                    id__gt=cursor.last_event_id, id__lte=top,
                    referral_id__in=hl7_referrals.values("referral_id"))
                .exclude(from_status="").exclude(to_status="")
                .select_related("referral__patient", "referral__source_partner",
                                "referral__location")
                .order_by("id")[:EVENTS_PER_CHUNK])
            for event in events:
                if reply_queue(event=event, now=now) is not None:
                    queued += 1
            full = len(events) == EVENTS_PER_CHUNK
            cursor.last_event_id = events[-1].id if full else top
            cursor.save(update_fields=["last_event_id", "updated_at"])
            if not full:
                return queued


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_SECONDS * 2 ** max(0, attempts - 1)))


def replies_deliver(now: datetime, *, timeout: float = SEND_TIMEOUT) -> dict[str, int]:
    counts = {"sent": 0, "failed": 0, "retry": 0, "dead": 0}
    HL7Outgoing.objects.filter(status=OutgoingStatus.SENDING,
                               claimed_at__lt=now - LEASE).update(status=OutgoingStatus.QUEUED)
    due = list(HL7Outgoing.objects.filter(status=OutgoingStatus.QUEUED, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "id")[:DELIVER_PER_TICK])
    unreachable: set[tuple[str, int]] = set()
    for row in due:
        if (row.host, row.port) in unreachable:
            continue  # its peer just failed; try again next tick
        claimed = HL7Outgoing.objects.filter(pk=row.pk, status=OutgoingStatus.QUEUED).update(
            status=OutgoingStatus.SENDING, claimed_at=timezone.now(),
            attempts=F("attempts") + 1)
        if not claimed:
            continue
        row.refresh_from_db()
        try:
            reply = mllp_send(row.host, row.port, row.message, timeout=timeout)
            code, text = ack_code_of(reply)
            problem = "" if code else text
        except OSError as exc:
            code, text, problem = "", "", f"{type(exc).__name__}: {exc}"[:500]
            unreachable.add((row.host, row.port))
        fields: dict = {"claimed_at": None}
        if code in ("AA", "CA"):
            fields.update(status=OutgoingStatus.SENT, sent_at=timezone.now(), ack_code=code,
                          ack_text=text, last_error="")
            counts["sent"] += 1
        elif code:
            fields.update(status=OutgoingStatus.FAILED, ack_code=code, ack_text=text,
                          last_error=f"The peer answered {code}: {text}"[:500])
            counts["failed"] += 1
        elif row.attempts >= MAX_ATTEMPTS:
            fields.update(status=OutgoingStatus.DEAD, last_error=problem)
            counts["dead"] += 1
        else:
            fields.update(status=OutgoingStatus.QUEUED, last_error=problem,
                          next_attempt_at=timezone.now() + _backoff(row.attempts))
            counts["retry"] += 1
        HL7Outgoing.objects.filter(pk=row.pk, status=OutgoingStatus.SENDING).update(**fields)
    return counts


def hl7_tick(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    return {"rri_queued": replies_queue_new(now), **{f"rri_{k}": v for k, v in
                                                   replies_deliver(now).items()}}


def run(now: datetime) -> dict[str, int] | None:
    try:
        counts = hl7_tick(now)
    except Exception:
        log.exception("hl7_tick failed; will try again next tick")
        return None
    if any(counts.values()):
        log.info("hl7: %s", " ".join(f"{k}={v}" for k, v in counts.items() if v))
    return counts
