"""Writes to the outbox: enqueue, resend, cancel, suppressions, inbound SMS, print batches.

Each function is one transaction. Delivery itself is outbox.worker's job; these only
decide what may be sent and when.
"""

from __future__ import annotations

import string
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from refnet.accounts.models import User
from refnet.outbox.addresses import normalize_address
from refnet.outbox.channels.sms import sms_next_allowed_at
from refnet.outbox.models import (
    OUTBOX_TRANSITIONS,
    Audience,
    InboundSms,
    MessageChannel,
    MessageTemplate,
    OutboxMessage,
    OutboxStatus,
    Purpose,
    Suppression,
    SuppressionReason,
)
from refnet.partners.models import Contact, Partner
from refnet.referrals.models import Referral

# TCPA opt-out and opt-in keywords (COMPLIANCE.md), compared after normalize_sms_keyword.
SMS_STOP_WORDS = frozenset({"STOP", "STOPALL", "QUIT", "END", "REVOKE", "OPT OUT", "OPTOUT",
                            "CANCEL", "UNSUBSCRIBE"})
SMS_START_WORDS = frozenset({"START", "UNSTOP", "YES"})


def first_attempt_at(channel: str, now: datetime | None = None) -> datetime:
    """When a new or resent message may first go out: now, or the next SMS hour."""
    now = now or timezone.now()
    return sms_next_allowed_at(now) if channel == MessageChannel.SMS else now


def _why_blocked(*, channel: str, partner: Partner | None,
                 address: str) -> tuple[str, str] | None:
    """(field, reason) when this message must not go out, else None."""
    if partner is not None and partner.do_not_contact:
        return "partner", f"{partner.name} is marked do-not-contact."
    normalized = normalize_address(channel, address)
    suppression = Suppression.objects.filter(channel=channel, address=normalized).first()
    if suppression is not None:
        return "to_address", (f"{address.strip()} has opted out of {channel} messages "
                              f"({suppression.get_reason_display().lower()}).")
    return None


def contact_blocked(*, channel: str, partner: Partner | None, address: str) -> str | None:
    """Why a message on this channel to this partner and address must not go out, or None."""
    blocked = _why_blocked(channel=channel, partner=partner, address=address)
    return blocked[1] if blocked else None


def _check_choice(field: str, value: str, choices: type) -> None:
    if value not in choices.values:
        raise ValidationError({field: f"{value!r} is not a valid {field}; expected one of "
                                      f"{', '.join(choices.values)}."})


def _transition(message: OutboxMessage, to: str) -> None:
    if to not in OUTBOX_TRANSITIONS[message.status]:
        raise ValidationError({"status": f"A {message.get_status_display().lower()} message "
                                         f"cannot become {OutboxStatus(to).label.lower()}."})
    message.status = to


def message_enqueue(
    *, channel: str, purpose: str, audience: str, partner: Partner | None,
    contact: Contact | None = None, referral: Referral | None = None,
    template: MessageTemplate | None = None, to_name: str, to_address: str, subject: str,
    body_text: str, body_html: str = "", names_patient: bool, by: User | None,
    dedupe_key: str | None = None, attachments: list[dict] | None = None,
) -> OutboxMessage:
    """Queue one fully rendered message. Idempotent on dedupe_key: a second call with the
    same key returns the first message unchanged. `attachments` (email only) are
    {"filename", "content_type", "content"} with text content, e.g. an event's .ics."""
    _check_choice("channel", channel, MessageChannel)
    _check_choice("purpose", purpose, Purpose)
    _check_choice("audience", audience, Audience)
    if not to_address.strip():
        raise ValidationError({"to_address": "A message needs an address to go to."})
    if not body_text.strip():
        raise ValidationError({"body_text": "A message needs a body."})
    attachments = list(attachments or [])
    for item in attachments:
        if not (isinstance(item, dict) and {"filename", "content_type", "content"} <= set(item)
                and all(isinstance(item[k], str) for k in ("filename", "content_type",
                                                            "content"))):
            raise ValidationError({"attachments": "Each attachment needs a filename, a "
                                                  "content type and text content."})
    if attachments and channel != MessageChannel.EMAIL:
        raise ValidationError({"attachments": "Only email carries attachments."})
    with transaction.atomic():
        if dedupe_key:
            existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        blocked = _why_blocked(channel=channel, partner=partner, address=to_address)
        if blocked:
            raise ValidationError({blocked[0]: blocked[1]})
        message = OutboxMessage(
            channel=channel, purpose=purpose, audience=audience, partner=partner,
            contact=contact, referral=referral, template=template, to_name=to_name,
            to_address=to_address.strip(), subject=subject, body_text=body_text,
            body_html=body_html, attachments=attachments, names_patient=names_patient,
            created_by=by,
            dedupe_key=dedupe_key or None, status=OutboxStatus.QUEUED,
            max_attempts=settings.REFNET_OUTBOX_MAX_ATTEMPTS,
            next_attempt_at=first_attempt_at(channel),
        )
        try:
            # A savepoint, so that losing a race on dedupe_key leaves the caller's
            # transaction usable and we can return the winner's row.
            with transaction.atomic():
                message.save()
        except IntegrityError:
            if not dedupe_key:
                raise
            return OutboxMessage.objects.get(dedupe_key=dedupe_key)
    return message


def _locked(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.select_for_update(of=("self",)).select_related("partner").get(
        pk=message.pk)


def message_resend(*, message: OutboxMessage, by: User | None) -> OutboxMessage:
    """A dead letter (or a suppressed message whose recipient opted back in) goes back in
    the queue with a fresh set of attempts."""
    with transaction.atomic():
        message = _locked(message)
        _transition(message, OutboxStatus.QUEUED)
        blocked = _why_blocked(channel=message.channel, partner=message.partner,
                               address=message.to_address)
        if blocked:
            raise ValidationError({blocked[0]: blocked[1] + " It cannot be resent."})
        message.attempts = 0
        message.max_attempts = max(message.max_attempts, 1)
        message.next_attempt_at = first_attempt_at(message.channel)
        message.claimed_by = ""
        message.lease_until = None
        # The error stays in the DeliveryAttempt rows; the queued row starts clean.
        message.last_error = ""
        message.save(update_fields=["status", "attempts", "max_attempts", "next_attempt_at",
                                    "claimed_by", "lease_until", "last_error"])
    return message


def message_cancel(*, message: OutboxMessage, by: User | None) -> OutboxMessage:
    """Withdraw a queued, dead or suppressed message; a message being sent cannot be."""
    with transaction.atomic():
        message = _locked(message)
        _transition(message, OutboxStatus.CANCELLED)
        message.lease_until = None
        message.save(update_fields=["status", "lease_until"])
    return message


def suppression_add(*, channel: str, address: str, reason: str, note: str = "") -> Suppression:
    """Stop this channel's messages to this address (idempotent: the first record stays)."""
    _check_choice("channel", channel, MessageChannel)
    _check_choice("reason", reason, SuppressionReason)
    normalized = normalize_address(channel, address)
    if not normalized:
        raise ValidationError({"address": f"{address!r} is not a usable {channel} address."})
    with transaction.atomic():
        suppression, _created = Suppression.objects.get_or_create(
            channel=channel, address=normalized, defaults={"reason": reason, "note": note[:300]})
    return suppression


def suppression_remove(*, channel: str, address: str) -> bool:
    """Let this channel's messages reach the address again; False if it was not suppressed."""
    normalized = normalize_address(channel, address)
    with transaction.atomic():
        deleted, _ = Suppression.objects.filter(channel=channel, address=normalized).delete()
    return deleted > 0


def normalize_sms_keyword(body: str) -> str:
    """'  stop! ' -> 'STOP', 'Opt  out.' -> 'OPT OUT'."""
    stripped = body.strip(string.whitespace + string.punctuation)
    return " ".join(stripped.split()).upper()


def sms_inbound_record(*, from_number: str, body: str) -> InboundSms:
    """Keep an inbound text as evidence; an opt-out word suppresses the number for SMS,
    an opt-in word lifts that."""
    if not normalize_address("sms", from_number):
        raise ValidationError({"from_number": f"{from_number!r} is not a phone number."})
    keyword = normalize_sms_keyword(body)
    action = ""
    with transaction.atomic():
        if keyword in SMS_STOP_WORDS:
            action = "opt_out"
            suppression_add(channel="sms", address=from_number, reason=SuppressionReason.SMS_STOP,
                            note=f"Replied {keyword}")
        elif keyword in SMS_START_WORDS:
            action = "opt_in"
            suppression_remove(channel="sms", address=from_number)
        inbound = InboundSms.objects.create(from_number=from_number.strip()[:30], body=body,
                                            action=action)
    return inbound


def letters_print_batch(*, by: User | None, day: date | None = None) -> bytes:
    """One PDF of every sent letter not yet printed (of that local day when given), each
    starting on a new page, oldest first; marks them printed."""
    from refnet.outbox.channels.letter import letters_pdf

    with transaction.atomic():
        letters = (OutboxMessage.objects.select_for_update()
                   .filter(channel=MessageChannel.LETTER, status=OutboxStatus.SENT,
                           printed_at=None))
        if day is not None:
            start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
            end = timezone.make_aware(datetime.combine(day, datetime.max.time()))
            letters = letters.filter(sent_at__range=(start, end))
        letters = list(letters.order_by("sent_at", "id"))
        if not letters:
            when = f" for {day:%B %-d, %Y}" if day else ""
            raise ValidationError({"day": f"No letters are waiting to be printed{when}."})
        pdf = letters_pdf(letters)
        OutboxMessage.objects.filter(pk__in=[m.pk for m in letters]).update(
            printed_at=timezone.now())
    return pdf
