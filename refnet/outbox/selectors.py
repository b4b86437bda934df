"""Outbox reads: the message list with its filters, the dead letters, one message with its
delivery attempts, and the letters waiting to be printed."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from refnet.accounts.models import User
from refnet.accounts.permissions import Cap, has_cap

from .models import DeliveryAttempt, MessageChannel, OutboxMessage, OutboxStatus

PAGE_SIZE = 50
DEAD_SHOWN = 10  # dead letters listed at the top of the outbox


def _base() -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.select_related("partner", "referral", "created_by")


def messages_list(*, status: str = "", channel: str = "") -> QuerySet[OutboxMessage]:
    """Newest first; unknown filter values are the caller's to refuse (see the view)."""
    qs = _base()
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("-created_at", "-id")


def status_counts() -> dict[str, int]:
    """How many messages are in each status (one grouped query)."""
    counts = {s.value: 0 for s in OutboxStatus}
    for row in OutboxMessage.objects.values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    return counts


def dead_letters(limit: int = DEAD_SHOWN) -> list[OutboxMessage]:
    """The messages the worker gave up on, newest first: they need a person."""
    return list(_base().filter(status=OutboxStatus.DEAD).order_by("-created_at", "-id")[:limit])


def get_message_for(user: User, pk: int) -> OutboxMessage:
    if not has_cap(user, Cap.OUTBOX_VIEW):
        raise Http404
    return get_object_or_404(_base().select_related("contact", "template"), pk=pk)


def message_attempts(message: OutboxMessage) -> QuerySet[DeliveryAttempt]:
    return message.delivery_attempts.order_by("at", "id")


def letters_waiting() -> QuerySet[OutboxMessage]:
    """Sent letters not printed yet, oldest first: exactly what letters_print_batch(day=None)
    puts in the next PDF. Uses the outbox_letters_unprinted partial index."""
    return _base().filter(channel=MessageChannel.LETTER, status=OutboxStatus.SENT,
                          printed_at=None).order_by("sent_at", "id")


def letters_printed_recently(limit: int = 20) -> list[OutboxMessage]:
    return list(_base().filter(channel=MessageChannel.LETTER, printed_at__isnull=False)
                .order_by("-printed_at", "-id")[:limit])


def patient_ids(messages: list[OutboxMessage]) -> list[int]:
    """The patients named in these messages' content (what viewing or printing audits)."""
    return [m.referral.patient_id for m in messages if m.names_patient and m.referral_id]


def partner_recent_messages(partner, *, limit: int = 10) -> list[OutboxMessage]:
    """What the partner was sent or is about to be sent, newest first: purpose, channel,
    status and dates only (subjects can name a patient)."""
    return list(OutboxMessage.objects.filter(partner=partner)
                .only("id", "channel", "purpose", "status", "created_at", "sent_at",
                      "partner_id").order_by("-created_at", "-id")[:limit])
