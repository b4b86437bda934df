"""Outbox delivery benchmark: messages per second for ONE worker to a loopback SMTP server.

    DATABASE_URL=... python bench/outbox.py --partners 100000 --referrals 2000000 --out r.json

bench/run.py drives this once per database. Steps:
1. Make sure the database holds the seeded data at this scale (bench/intake.ensure_data).
2. Start an aiosmtpd server on 127.0.0.1 (the one the tests use) and point Django's SMTP
   backend at it. Queued messages that are not ours are set aside (made due in the far
   future) for the measurement and put back afterwards, so the seeded data is unchanged.
3. Per round: bulk-insert --messages email rows (a third of them non-clinical, so they
   carry the List-Unsubscribe header) to seeded partners, then time outbox.worker.
   deliver_due() in this process until none are due: claim, send over one connection per
   batch, mark sent, one DeliveryAttempt per message. Check every message arrived once
   and every row is sent, then delete the rows. The figure is the median of the rounds.
4. Floor: the same number of messages through the same email adapter with no database
   work at all, i.e. what Django + smtplib + aiosmtpd manage on this machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from intake import ensure_data  # bench/intake.py: same data, same marker files

GOAL = {"min": 200}


def queue_messages(count: int, partner_ids: list[int], tag: str) -> list[int]:
    from django.utils import timezone

    from refnet.outbox.models import OutboxMessage

    now = timezone.now()
    rng = random.Random(count)
    rows = [OutboxMessage(
        channel="email", purpose="check_in",
        audience="general" if i % 3 == 0 else "clinical", partner_id=rng.choice(partner_ids),
        to_name=f"Bench Recipient {i}", to_address=f"r{i}@{tag}.bench.example",
        subject=f"Checking in ({i})", body_text="Thank you for working with us.\n\n" * 4,
        body_html="<p>Thank you for working with us.</p>" * 4 if i % 2 else "",
        next_attempt_at=now, max_attempts=6) for i in range(count)]
    OutboxMessage.objects.bulk_create(rows, batch_size=1000)
    return list(OutboxMessage.objects.filter(to_address__endswith=f"@{tag}.bench.example")
                .values_list("id", flat=True))


def remove_bench_rows() -> None:
    from refnet.outbox.models import DeliveryAttempt, OutboxMessage

    rows = OutboxMessage.objects.filter(to_address__endswith=".bench.example")
    DeliveryAttempt.objects.filter(message__in=rows).delete()
    rows.delete()


def set_aside_foreign_rows(log) -> dict[int, object]:
    """Queued rows that are not the benchmark's, with their due times, made due in 100 years."""
    from django.utils import timezone

    from refnet.outbox.models import OutboxMessage

    rows = OutboxMessage.objects.filter(status="queued").exclude(
        to_address__endswith=".bench.example")
    saved = dict(rows.values_list("id", "next_attempt_at"))
    if saved:
        log(f"setting aside {len(saved)} queued messages that are not the benchmark's")
        rows.update(next_attempt_at=timezone.now() + timedelta(days=36500))
    return saved


def restore_foreign_rows(saved: dict[int, object]) -> None:
    from refnet.outbox.models import OutboxMessage

    for pk, at in saved.items():
        OutboxMessage.objects.filter(pk=pk).update(next_attempt_at=at)


def measure_round(smtp, count: int, partner_ids: list[int], round_no: int, log) -> dict:
    from refnet.outbox.models import OutboxMessage
    from refnet.outbox.worker import deliver_due

    tag = f"round{round_no}"
    ids = queue_messages(count, partner_ids, tag)
    with smtp.lock:
        smtp.received.clear()
    started = time.perf_counter()
    counts = deliver_due(worker=f"bench-{os.getpid()}")
    seconds = time.perf_counter() - started
    smtp.wait_for(count, timeout=30)
    received = collections.Counter(smtp.message_ids())
    sent = OutboxMessage.objects.filter(pk__in=ids, status="sent").count()
    ok = sent == count and len(received) == count and max(received.values()) == 1
    log(f"round {round_no}: {count} messages in {seconds:.2f} s = {count / seconds:.0f}/s "
        f"({counts.batches} batches; {'all sent once' if ok else 'MISMATCH'})")
    remove_bench_rows()
    return {"seconds": round(seconds, 3), "per_s": round(count / seconds, 1), "ok": ok,
            "sent": sent, "received": len(received), "batches": counts.batches}


def measure_floor(smtp, count: int) -> float:
    """Messages per second through the email adapter alone (no database)."""
    from django.utils import timezone

    from refnet.outbox.channels.email import EmailAdapter
    from refnet.outbox.models import OutboxMessage

    with smtp.lock:
        smtp.received.clear()
    adapter = EmailAdapter()
    adapter.open()
    messages = [OutboxMessage(pk=10_000_000 + i, channel="email", audience="clinical",
                              to_name="Floor", to_address=f"f{i}@floor.bench.example",
                              subject="Floor", body_text="Thank you.\n\n" * 4,
                              created_at=timezone.now())
                for i in range(count)]
    started = time.perf_counter()
    for message in messages:
        adapter.send(message)
    adapter.close()
    seconds = time.perf_counter() - started
    smtp.wait_for(count, timeout=30)
    return count / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    db = "sqlite" if url.startswith("sqlite") else "postgresql"

    def log(text: str) -> None:
        print(f"[{db}] outbox: {text}", file=sys.stderr, flush=True)

    marker = ensure_data(url, args.partners, args.referrals, args.seed, log)
    from django.conf import settings
    from django.db import connection

    from refnet.outbox.tests.conftest import LoopbackSmtp
    from refnet.partners.models import Partner

    smtp = LoopbackSmtp(keep_raw=False).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = \
        False, "", ""
    partner_ids = list(Partner.objects.filter(do_not_contact=False, merged_into=None)
                       .order_by("pk").values_list("pk", flat=True)[:5000])
    remove_bench_rows()  # a run that was interrupted may have left some
    saved = set_aside_foreign_rows(log)
    try:
        rounds = [measure_round(smtp, args.messages, partner_ids, n + 1, log)
                  for n in range(args.rounds)]
        floor = measure_floor(smtp, args.messages)
        log(f"floor (email adapter, no database): {floor:.0f}/s")
    finally:
        remove_bench_rows()
        restore_foreign_rows(saved)
        smtp.stop()
    value = statistics.median(r["per_s"] for r in rounds)
    all_ok = all(r["ok"] for r in rounds)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if db == "sqlite" else "SHOW server_version")
        version = cursor.fetchone()[0]
    result = {"name": "outbox.delivery", "db": db,
              "scale": {"partners": args.partners, "referrals": args.referrals,
                        "messages": args.messages},
              "unit": "per_s", "value": round(value, 1), "floor": round(floor, 1),
              "goal": GOAL, "met": all_ok and value >= GOAL["min"],
              "measured_at": date.today().isoformat()}
    Path(args.out).write_text(json.dumps({
        "results": [result],
        "details": {"outbox": {"rounds": rounds, "floor_per_s": round(floor, 1),
                               "batch": settings.REFNET_OUTBOX_BATCH, "all_once": all_ok},
                    "seed": marker, "database": f"{db} {version}"},
    }, indent=2))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
