"""Email through Django's email backend (SMTP in production, a file in development).

Each message gets a deterministic Message-ID, "<outbox-{id}@{sender's domain}>": if a
worker dies after the server accepted a message but before it recorded that (the one
window SMTP cannot close), the resent copy carries the same Message-ID and the receiving
side can recognize it as the same message.
"""

from __future__ import annotations

import smtplib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from refnet.outbox.addresses import unsubscribe_url
from refnet.outbox.channels.base import (
    ChannelAdapter,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

if TYPE_CHECKING:
    from refnet.outbox.models import OutboxMessage


def sender_domain() -> str:
    address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] or "localhost"


def message_id_for(message: OutboxMessage) -> str:
    """The same for every try of one message (a receiver can drop a repeat), and unique
    across databases: the row's creation time keeps a restored backup or a fresh demo,
    which reuse ids, from colliding with messages sent before."""
    return f"<outbox-{message.pk}.{message.created_at:%Y%m%d%H%M%S%f}@{sender_domain()}>"


def build_email(message: OutboxMessage, connection=None) -> EmailMultiAlternatives:
    headers = {"Message-ID": message_id_for(message)}
    if message.audience != "clinical":
        # RFC 8058 one-click unsubscribe; CAN-SPAM asks for it on anything not clinical.
        headers["List-Unsubscribe"] = f"<{unsubscribe_url('email', message.to_address)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    to = message.to_address.strip()
    if message.to_name:
        to = f'"{message.to_name.replace(chr(34), "")}" <{to}>'
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers,
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for item in message.attachments or []:
        email.attach(item["filename"], item["content"], item["content_type"])
    return email


def _smtp_code_error(code: int, text: str) -> Exception:
    # 5xx: the server refuses this message for good; 4xx: come back later.
    cls = PermanentDeliveryError if code >= 500 else TemporaryDeliveryError
    return cls(f"SMTP {code}: {text}")


class EmailAdapter(ChannelAdapter):
    channel = "email"

    def __init__(self) -> None:
        self.connection = None

    def open(self) -> None:
        # One connection for the whole batch; it connects on first use.
        self.connection = get_connection(fail_silently=False)

    def send(self, message: OutboxMessage) -> str:
        if self.connection is None:
            self.open()
        email = build_email(message, self.connection)
        try:
            # Opened here rather than by send(), which would close it again after one message.
            self.connection.open()
            email.send(fail_silently=False)
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            raise _smtp_code_error(exc.smtp_code, text) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            raise _smtp_code_error(code, text) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # The connection is in an unknown state: start a fresh one for the next message.
            self._reset()
            raise TemporaryDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # Django refuses a malformed address or header
            raise PermanentDeliveryError(f"Invalid message: {exc}") from exc
        return message_id_for(message)

    def _reset(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - closing a broken socket may fail too
                pass
            self.connection = None

    def close(self) -> None:
        self._reset()
