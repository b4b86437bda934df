"""Fax through the file backend: the letter layout as a PDF, and a JSON line."""

import json

from refnet.outbox.models import OutboxStatus
from refnet.outbox.worker import deliver_due


def test_fax_file_backend_writes_the_pdf_and_a_record(db, enqueue, outbox_data_dir):
    message = enqueue(channel="fax", audience="clinical", subject="Outcome update")

    assert deliver_due(worker="w1").sent == 1

    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.provider_ref == f"file-fax-{message.pk}"
    assert (outbox_data_dir / "fax" / f"{message.pk}.pdf").read_bytes().startswith(b"%PDF")
    (record,) = [json.loads(line) for line in
                 (outbox_data_dir / "fax" / "outbox.jsonl").read_text().splitlines()]
    assert record["to"] == "(303) 555-0199"
    assert record["outbox_id"] == message.pk
