"""SMS through a provider adapter chosen by settings.REFNET_SMS_BACKEND.

FileSmsBackend (the default) appends one JSON line per text to DATA_DIR/sms/outbox.jsonl,
so development never texts anyone. A provider backend implements SmsBackend.send() and
raises Temporary/PermanentDeliveryError from its provider's answers.
Quiet hours (TCPA, COMPLIANCE.md) are decided by sms_next_allowed_at().
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from refnet.outbox.channels.base import ChannelAdapter, TemporaryDeliveryError

if TYPE_CHECKING:
    from refnet.outbox.models import OutboxMessage


def sms_next_allowed_at(now: datetime | None = None) -> datetime:
    """now if texts may go out now (local time), else the next local opening hour."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    start, until = settings.REFNET_SMS_SEND_FROM_HOUR, settings.REFNET_SMS_SEND_UNTIL_HOUR
    if start <= local.hour < until:
        return now
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(start)))


class SmsBackend:
    def send(self, *, to: str, body: str, message_id: int) -> str:
        """Send one text; returns the provider's id for it."""
        raise NotImplementedError


class FileSmsBackend(SmsBackend):
    def send(self, *, to: str, body: str, message_id: int) -> str:
        path = Path(settings.DATA_DIR) / "sms" / "outbox.jsonl"
        ref = f"file-sms-{uuid.uuid4().hex[:16]}"
        line = json.dumps({"id": ref, "outbox_id": message_id, "to": to, "body": body,
                           "at": timezone.now().isoformat()})
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode: lines from several workers do not mix.
            with path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            raise TemporaryDeliveryError(f"Could not write {path}: {exc}") from exc
        return ref


def get_sms_backend() -> SmsBackend:
    return import_string(settings.REFNET_SMS_BACKEND)()


class SmsAdapter(ChannelAdapter):
    channel = "sms"

    def open(self) -> None:
        self.backend = get_sms_backend()

    def send(self, message: OutboxMessage) -> str:
        if not hasattr(self, "backend"):
            self.open()
        return self.backend.send(to=message.to_address.strip(), body=message.body_text,
                                 message_id=message.pk)
