"""Letters: a PDF per letter when sent, and the day's print batch, one letter per page."""

import re
import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from refnet.outbox.models import OutboxStatus
from refnet.outbox.services import letters_print_batch
from refnet.outbox.worker import deliver_due

NY = ZoneInfo("America/New_York")


def pdf_pages(pdf: bytes) -> int:
    """Page objects in a PDF: each carries "/Type /Page" (the page tree is "/Pages").
    WeasyPrint packs objects into compressed object streams, so look inside those too."""
    text = pdf
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            text += zlib.decompress(stream)
        except zlib.error:
            pass
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", text))


def test_sent_letter_is_a_pdf_waiting_in_the_day_folder(db, enqueue, outbox_data_dir):
    with time_machine.travel(datetime(2026, 3, 10, 9, 30, tzinfo=NY), tick=False):
        message = enqueue(channel="letter", subject="Thank you, Pat")
        assert deliver_due(worker="w1").sent == 1

    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.printed_at is None
    path = outbox_data_dir / "letters" / "2026-03-10" / f"{message.pk}.pdf"
    assert message.provider_ref == f"letters/2026-03-10/{message.pk}.pdf"
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) == 1


def test_print_batch_has_one_page_per_letter_and_marks_them_printed(db, enqueue, users):
    with time_machine.travel(datetime(2026, 3, 10, 9, 30, tzinfo=NY), tick=False):
        letters = [enqueue(channel="letter", to_name=f"Partner {i}") for i in range(3)]
        enqueue(channel="email", audience="clinical")  # not a letter: not in the batch
        deliver_due(worker="w1")

        pdf = letters_print_batch(by=users["coordinator"])

        assert pdf.startswith(b"%PDF")
        assert pdf_pages(pdf) == 3
        for letter in letters:
            letter.refresh_from_db()
            assert letter.printed_at is not None
        with pytest.raises(ValidationError) as error:
            letters_print_batch(by=users["coordinator"])
        assert "day" in error.value.message_dict


def test_print_batch_for_a_day_takes_only_that_days_letters(db, enqueue, users):
    with time_machine.travel(datetime(2026, 3, 9, 23, 30, tzinfo=NY), tick=False) as clock:
        monday = enqueue(channel="letter")
        deliver_due(worker="w1")
        clock.move_to(datetime(2026, 3, 10, 0, 30, tzinfo=NY))
        tuesday = [enqueue(channel="letter"), enqueue(channel="letter")]
        deliver_due(worker="w1")

        pdf = letters_print_batch(by=users["coordinator"], day=datetime(2026, 3, 10).date())

    assert pdf_pages(pdf) == 2
    monday.refresh_from_db()
    assert monday.printed_at is None
    assert all(m.printed_at for m in type(monday).objects.filter(pk__in=[t.pk for t in tuesday]))
