"""Fax through a provider adapter chosen by settings.REFNET_FAX_BACKEND.

The page is the printed letter's layout. FileFaxBackend (the default) writes the PDF to
DATA_DIR/fax/<outbox id>.pdf and a JSON line to DATA_DIR/fax/outbox.jsonl. A provider
backend implements FaxBackend.send() and raises Temporary/PermanentDeliveryError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from refnet.outbox.channels.base import ChannelAdapter, TemporaryDeliveryError
from refnet.outbox.channels.letter import letters_pdf

if TYPE_CHECKING:
    from refnet.outbox.models import OutboxMessage


class FaxBackend:
    def send(self, *, to: str, pdf: bytes, message_id: int) -> str:
        """Send one fax; returns the provider's id for it."""
        raise NotImplementedError


class FileFaxBackend(FaxBackend):
    def send(self, *, to: str, pdf: bytes, message_id: int) -> str:
        folder = Path(settings.DATA_DIR) / "fax"
        path = folder / f"{message_id}.pdf"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pdf)
            with (folder / "outbox.jsonl").open("a", encoding="utf-8") as out:
                out.write(json.dumps({"id": f"file-fax-{message_id}", "outbox_id": message_id,
                                      "to": to, "file": path.name, "bytes": len(pdf),
                                      "at": timezone.now().isoformat()}) + "\n")
        except OSError as exc:
            raise TemporaryDeliveryError(f"Could not write {path}: {exc}") from exc
        return f"file-fax-{message_id}"


def get_fax_backend() -> FaxBackend:
    return import_string(settings.REFNET_FAX_BACKEND)()


class FaxAdapter(ChannelAdapter):
    channel = "fax"

    def open(self) -> None:
        self.backend = get_fax_backend()

    def send(self, message: OutboxMessage) -> str:
        if not hasattr(self, "backend"):
            self.open()
        return self.backend.send(to=message.to_address.strip(), pdf=letters_pdf([message]),
                                 message_id=message.pk)
