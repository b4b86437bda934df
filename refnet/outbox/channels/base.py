"""What a delivery channel looks like to the worker.

One module per channel (email, letter, sms, fax), like healthchecks' hc/integrations. An
adapter is opened once per batch (so an SMTP connection is reused), sends one message at a
time and returns the provider's id for it, and is closed at the end of the batch.

Adapters raise TemporaryDeliveryError for failures worth retrying (a 4xx answer, a
connection reset) and PermanentDeliveryError for those that never will succeed (a 5xx
answer, a malformed address); the worker turns them into a retry with backoff or a dead
letter. Anything else escaping an adapter is a bug and is treated as temporary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from refnet.outbox.models import OutboxMessage


class DeliveryError(Exception):
    """A message could not be delivered; str(error) is what the outbox shows."""


class TemporaryDeliveryError(DeliveryError):
    """Try again later: the provider or the network may recover."""


class PermanentDeliveryError(DeliveryError):
    """Do not try again: the same message would fail the same way."""


class ChannelAdapter:
    """Base class: subclasses implement send(); open() and close() bracket a batch."""

    channel: str = ""

    def open(self) -> None:  # noqa: B027 - optional hook
        pass

    def send(self, message: OutboxMessage) -> str:
        """Deliver one message; returns the provider's reference (Message-ID, SMS id...)."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


ADAPTERS: dict[str, str] = {
    "email": "refnet.outbox.channels.email.EmailAdapter",
    "letter": "refnet.outbox.channels.letter.LetterAdapter",
    "sms": "refnet.outbox.channels.sms.SmsAdapter",
    "fax": "refnet.outbox.channels.fax.FaxAdapter",
}


def adapter_for(channel: str) -> ChannelAdapter:
    """A fresh adapter for one batch of this channel's messages."""
    try:
        path = ADAPTERS[channel]
    except KeyError:
        raise PermanentDeliveryError(f"Unknown channel {channel!r}.") from None
    return import_string(path)()
