"""Delivering the outbox: claim due messages with a lease, send, record, retry or give up.

deliver_due() is what `refnet worker` runs every tick; it is also safe to run from several
processes at once. Per batch:

1. Reclaim: rows left in "sending" by a worker whose lease lapsed (killed, hung) go back
   to "queued". Their attempt stays counted: nobody knows whether it reached the provider.
2. Claim: in one short transaction pick up to REFNET_OUTBOX_BATCH due rows, oldest first,
   and mark them sending/claimed_by=me/lease_until/attempts+1. On PostgreSQL the pick is
   SELECT ... FOR UPDATE SKIP LOCKED, so workers take disjoint batches without waiting;
   on SQLite select_for_update is a no-op but transactions are BEGIN IMMEDIATE (one
   writer at a time), which makes the same code correct.
3. For each row: if half the lease is gone, renew it for the rest of the batch with a
   compare-and-set update (rows no longer ours are dropped); re-check do-not-contact and
   suppressions (-> suppressed) and SMS quiet hours (-> queued for the next allowed hour,
   attempt not counted); send; then in one short transaction mark it sent (only if it is
   still ours and still sending) with a DeliveryAttempt row. A failure records its
   DeliveryAttempt and goes back to queued after an exponential backoff with jitter, or
   dead after max_attempts, or dead at once on a permanent error.
4. When asked to stop (stop event set), the message in hand is finished and the rest of
   the batch is released: back to queued, attempt not counted.

Exactly-once holds as long as a send takes less than the lease (EMAIL_TIMEOUT is below
REFNET_OUTBOX_LEASE_SECONDS by default). The one window no lease can close is between the
provider accepting a message and our commit; see the email channel's Message-ID.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from refnet.outbox.addresses import normalize_address
from refnet.outbox.channels.base import (
    ChannelAdapter,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    adapter_for,
)
from refnet.outbox.channels.sms import sms_next_allowed_at
from refnet.outbox.models import (
    DeliveryAttempt,
    MessageChannel,
    OutboxMessage,
    OutboxStatus,
    Suppression,
    WorkerHeartbeat,
)

log = logging.getLogger("refnet.worker")
Result = DeliveryAttempt.Result


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def backoff_seconds(attempts: int) -> float:
    """Delay after the attempts-th failure: base * 2**(attempts-1), capped, +-15% jitter
    so that messages that failed together do not all come back together."""
    base = settings.REFNET_OUTBOX_BACKOFF_SECONDS
    cap = settings.REFNET_OUTBOX_BACKOFF_MAX_SECONDS
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return min(cap, delay * random.uniform(0.85, 1.15))


@dataclass
class DeliveryCounts:
    sent: int = 0
    retry: int = 0
    dead: int = 0
    suppressed: int = 0
    deferred: int = 0  # SMS outside quiet hours, put back for the next allowed hour
    cancelled: int = 0  # its referral was removed while it waited
    lost: int = 0  # claims that lapsed and were taken over before we got to them
    reclaimed: int = 0
    batches: int = 0

    def add(self, other: DeliveryCounts) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def heartbeat(name: str, *, stopped: bool = False) -> None:
    now = timezone.now()
    fields = {"beat_at": now, "stopped_at": now if stopped else None}
    if not WorkerHeartbeat.objects.filter(worker=name).update(**fields):
        WorkerHeartbeat.objects.update_or_create(
            worker=name, defaults=fields,
            create_defaults={**fields, "host": socket.gethostname()[:120], "pid": os.getpid(),
                             "started_at": now})


# Messages this process sent whose "sent" mark failed to commit (the database went away
# mid-tick): (worker, message id) -> (sent at, provider reference, duration in ms).
UNRECORDED_SENT: dict[tuple[str, int], tuple[datetime, str, int]] = {}


def record_unrecorded_sent(worker: str) -> int:
    """Mark sent what this worker sent before the database failed, if the row is still its
    claim (nobody reclaimed it meanwhile); returns how many were recorded."""
    recorded = 0
    for key in [k for k in UNRECORDED_SENT if k[0] == worker]:
        sent_at, ref, duration = UNRECORDED_SENT[key]
        with transaction.atomic():
            updated = OutboxMessage.objects.filter(
                pk=key[1], claimed_by=worker, status=OutboxStatus.SENDING).update(
                status=OutboxStatus.SENT, sent_at=sent_at, provider_ref=ref, last_error="",
                lease_until=None)
            if updated:
                DeliveryAttempt.objects.create(message_id=key[1], at=sent_at, worker=worker,
                                               result=Result.SENT, duration_ms=duration)
        del UNRECORDED_SENT[key]
        recorded += updated
    return recorded


def reclaim_lapsed(now: datetime | None = None) -> int:
    """Rows whose worker's lease lapsed go back to the queue, due now."""
    now = now or timezone.now()
    return OutboxMessage.objects.filter(status=OutboxStatus.SENDING, lease_until__lt=now).update(
        status=OutboxStatus.QUEUED, claimed_by="", lease_until=None, next_attempt_at=now)


def claim_batch(*, worker: str, limit: int, lease_seconds: float) -> list[OutboxMessage]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids, status=OutboxStatus.QUEUED).update(
            status=OutboxStatus.SENDING, claimed_by=worker,
            lease_until=now + timedelta(seconds=lease_seconds), attempts=F("attempts") + 1)
    return list(OutboxMessage.objects.select_related("partner")
                .filter(id__in=ids, claimed_by=worker, status=OutboxStatus.SENDING)
                .order_by("next_attempt_at", "id"))


def release_claims(worker: str) -> int:
    """Give back every row this worker holds but has not sent (on stop): attempt not counted."""
    return OutboxMessage.objects.filter(claimed_by=worker, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.QUEUED, claimed_by="", lease_until=None,
        attempts=F("attempts") - 1)


def next_due_at() -> datetime | None:
    return OutboxMessage.objects.filter(status=OutboxStatus.QUEUED).aggregate(
        at=Min("next_attempt_at"))["at"]


class _Batch:
    """One claimed batch being delivered by one worker."""

    def __init__(self, worker: str, messages: list[OutboxMessage], lease_seconds: float,
                 counts: DeliveryCounts) -> None:
        self.worker = worker
        self.messages = messages
        self.lease_seconds = lease_seconds
        self.counts = counts
        self.adapters: dict[str, ChannelAdapter] = {}
        self.lease_until = messages[0].lease_until if messages else None
        self.lost: set[int] = set()
        self.suppressed = self._suppressed_addresses()
        self.removed = self._removed_referrals()

    def _removed_referrals(self) -> set[int]:
        """Referrals removed after their message was queued and before this claim (the
        removal cancels what is queued; this catches what it could not see)."""
        from refnet.referrals.models import Referral

        ids = {m.referral_id for m in self.messages if m.referral_id}
        if not ids:
            return set()
        return set(Referral.all_objects.filter(pk__in=ids, removed_at__isnull=False)
                   .values_list("pk", flat=True))

    def _suppressed_addresses(self) -> set[tuple[str, str]]:
        wanted = {(m.channel, normalize_address(m.channel, m.to_address)) for m in self.messages}
        if not wanted:
            return set()
        rows = Suppression.objects.filter(
            channel__in={c for c, _ in wanted}, address__in={a for _, a in wanted}
        ).values_list("channel", "address")
        return set(rows) & wanted

    def renew_if_needed(self, remaining: list[OutboxMessage]) -> None:
        now = timezone.now()
        if self.lease_until is None or \
                self.lease_until - now > timedelta(seconds=self.lease_seconds / 2):
            return
        ids = [m.pk for m in remaining if m.pk not in self.lost]
        lease_until = now + timedelta(seconds=self.lease_seconds)
        OutboxMessage.objects.filter(id__in=ids, claimed_by=self.worker,
                                     status=OutboxStatus.SENDING).update(lease_until=lease_until)
        still_ours = set(OutboxMessage.objects.filter(
            id__in=ids, claimed_by=self.worker, status=OutboxStatus.SENDING,
            lease_until=lease_until).values_list("id", flat=True))
        self.lost.update(set(ids) - still_ours)
        self.lease_until = lease_until

    def _mine(self, message: OutboxMessage):
        return OutboxMessage.objects.filter(pk=message.pk, claimed_by=self.worker,
                                            status=OutboxStatus.SENDING)

    def _finish(self, message: OutboxMessage, result: str, *, error: str = "",
                duration_ms: int = 0, **fields) -> bool:
        now = timezone.now()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Don't wait for this commit's WAL flush. A worker killed now loses nothing
                # (the server has the commit); only a crash of the database server itself
                # could forget the last fraction of a second of "sent" marks, and those
                # rows would be sent again with the same Message-ID, never lost. Waiting
                # for a disk flush per message would cap a worker at the disk's fsync rate.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            updated = self._mine(message).update(lease_until=None, **fields)
            if updated:
                DeliveryAttempt.objects.create(message_id=message.pk, at=now,
                                               worker=self.worker, result=result,
                                               error=error[:4000], duration_ms=duration_ms)
        return bool(updated)

    def blocked_reason(self, message: OutboxMessage) -> str | None:
        if message.partner is not None and message.partner.do_not_contact:
            return f"{message.partner.name} is marked do-not-contact."
        key = (message.channel, normalize_address(message.channel, message.to_address))
        if key in self.suppressed:
            return f"{message.to_address.strip()} has opted out of {message.channel} messages."
        return None

    def deliver(self, message: OutboxMessage) -> None:
        if message.referral_id in self.removed:
            why = f"Not sent: referral #{message.referral_id} was removed."
            if self._finish(message, Result.CANCELLED, error=why,
                            status=OutboxStatus.CANCELLED, last_error=why):
                self.counts.cancelled += 1
            return
        reason = self.blocked_reason(message)
        if reason:
            if self._finish(message, Result.SUPPRESSED, error=reason,
                            status=OutboxStatus.SUPPRESSED, last_error=reason):
                self.counts.suppressed += 1
            return
        if message.channel == MessageChannel.SMS:
            allowed = sms_next_allowed_at()
            if allowed > timezone.now():
                # Quiet hours are not a failure: back in line, this try not counted.
                self._mine(message).update(status=OutboxStatus.QUEUED, claimed_by="",
                                           lease_until=None, next_attempt_at=allowed,
                                           attempts=F("attempts") - 1)
                self.counts.deferred += 1
                return
        adapter = self.adapters.get(message.channel)
        started = time.perf_counter()
        try:
            if adapter is None:
                adapter = self.adapters[message.channel] = adapter_for(message.channel)
                adapter.open()
            ref = adapter.send(message)
        except PermanentDeliveryError as exc:
            self._failed(message, str(exc), started, permanent=True)
            return
        except TemporaryDeliveryError as exc:
            self._failed(message, str(exc), started, permanent=False)
            return
        except Exception as exc:  # a bug in an adapter: keep the message, retry later
            log.exception("unexpected error delivering outbox message %s", message.pk)
            self._failed(message, f"{type(exc).__name__}: {exc}", started, permanent=False)
            return
        duration = int((time.perf_counter() - started) * 1000)
        sent_at = timezone.now()
        try:
            recorded = self._finish(message, Result.SENT, duration_ms=duration,
                                    status=OutboxStatus.SENT, sent_at=sent_at,
                                    provider_ref=ref[:200], last_error="")
        except DatabaseError:
            # Sent, but the database went away before "sent" was committed (a restart).
            # Remember it: the next tick records it before anything is reclaimed, so the
            # message is not sent a second time once the database is back.
            UNRECORDED_SENT[(self.worker, message.pk)] = (sent_at, ref[:200], duration)
            raise
        if recorded:
            self.counts.sent += 1
        else:
            # Our lease lapsed during the send and another worker took the row over.
            log.warning("outbox message %s was sent after its claim lapsed; it may be sent "
                        "twice (same Message-ID)", message.pk)

    def _failed(self, message: OutboxMessage, error: str, started: float, *,
                permanent: bool) -> None:
        duration = int((time.perf_counter() - started) * 1000)
        attempts = message.attempts  # loaded after the claim counted this try
        if permanent or attempts >= message.max_attempts:
            if self._finish(message, Result.FAILED, error=error, duration_ms=duration,
                            status=OutboxStatus.DEAD, claimed_by="", last_error=error):
                self.counts.dead += 1
            return
        retry_at = timezone.now() + timedelta(seconds=backoff_seconds(attempts))
        if self._finish(message, Result.RETRY, error=error, duration_ms=duration,
                        status=OutboxStatus.QUEUED, claimed_by="", last_error=error,
                        next_attempt_at=retry_at):
            self.counts.retry += 1

    def run(self, stop: threading.Event | None) -> None:
        try:
            for index, message in enumerate(self.messages):
                if stop is not None and stop.is_set():
                    break
                self.renew_if_needed(self.messages[index:])
                if message.pk in self.lost:
                    self.counts.lost += 1
                    continue
                self.deliver(message)
        finally:
            for adapter in self.adapters.values():
                try:
                    adapter.close()
                except Exception:  # noqa: BLE001 - closing must not lose the batch's records
                    log.exception("closing the %s adapter failed", adapter.channel)


def deliver_due(*, worker: str | None = None, batch_size: int | None = None,
                stop: threading.Event | None = None,
                max_batches: int | None = None,
                after_batch: Callable[[], None] | None = None) -> DeliveryCounts:
    """Deliver due messages in batches until none are due (or stop is set, or max_batches
    batches were done). On stop, the unsent rest of the batch is released. after_batch runs
    after each batch (the worker beats its heartbeat there, so a long backlog does not look
    like a dead worker to the health check)."""
    worker = worker or default_worker_name()
    batch_size = batch_size or settings.REFNET_OUTBOX_BATCH
    lease_seconds = settings.REFNET_OUTBOX_LEASE_SECONDS
    counts = DeliveryCounts()
    counts.sent += record_unrecorded_sent(worker)
    counts.reclaimed = reclaim_lapsed()
    while stop is None or not stop.is_set():
        if max_batches is not None and counts.batches >= max_batches:
            break
        messages = claim_batch(worker=worker, limit=batch_size, lease_seconds=lease_seconds)
        if not messages:
            break
        counts.batches += 1
        try:
            _Batch(worker, messages, lease_seconds, counts).run(stop)
        finally:
            if stop is not None and stop.is_set():
                release_claims(worker)
        if after_batch is not None:
            after_batch()
    return counts
