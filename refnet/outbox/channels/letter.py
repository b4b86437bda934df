"""Printed letters: rendered to PDF with WeasyPrint when "sent", printed later in a batch.

A letter counts as sent once its PDF is written under DATA_DIR/letters/<yyyy-mm-dd>/;
staff print the day's letters as one PDF (outbox.services.letters_print_batch), which
renders the same layout again, every letter starting on a new page.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from refnet.outbox.channels.base import ChannelAdapter, TemporaryDeliveryError

if TYPE_CHECKING:
    from refnet.outbox.models import OutboxMessage


def letters_html(messages: Sequence[OutboxMessage]) -> str:
    letters = []
    for message in messages:
        dated = timezone.localtime(message.sent_at or timezone.now()).date()
        letters.append({
            "message": message, "date": dated,
            "address_lines": [line.strip() for line in message.to_address.splitlines()
                              if line.strip()],
            "paragraphs": [p.strip() for p in message.body_text.split("\n\n") if p.strip()],
        })
    return render_to_string("outbox/letter.html", {
        "letters": letters, "practice_name": settings.REFNET_PRACTICE_NAME,
        "practice_address": settings.REFNET_PRACTICE_ADDRESS,
        "practice_phone": settings.REFNET_PRACTICE_PHONE,
    })


def letters_pdf(messages: Sequence[OutboxMessage]) -> bytes:
    """One PDF with every message in the letter layout, each starting on a new page."""
    from weasyprint import HTML  # imported late: it is slow to import and only letters need it

    return HTML(string=letters_html(messages)).write_pdf()


def letter_path(message: OutboxMessage) -> Path:
    day = timezone.localdate()
    return Path(settings.DATA_DIR) / "letters" / day.isoformat() / f"{message.pk}.pdf"


class LetterAdapter(ChannelAdapter):
    channel = "letter"

    def send(self, message: OutboxMessage) -> str:
        path = letter_path(message)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            pdf = letters_pdf([message])
            tmp = path.with_suffix(".pdf.tmp")
            tmp.write_bytes(pdf)
            tmp.replace(path)  # never a half-written PDF under the final name
        except OSError as exc:
            raise TemporaryDeliveryError(f"Could not write {path}: {exc}") from exc
        return str(path.relative_to(settings.DATA_DIR))
