"""`refnet worker` as real processes against the test database and the loopback SMTP server:
kill -9 mid-send, SIGTERM, and (PostgreSQL) four workers sharing 10,000 messages.

These tests use a transactional database so that the worker subprocesses see the rows.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from refnet.outbox.channels.email import message_id_for
from refnet.outbox.models import OutboxMessage, OutboxStatus, WorkerHeartbeat

REFNET = str(Path(sys.executable).with_name("refnet"))


def _mid(pk: int) -> str:
    return message_id_for(OutboxMessage.objects.get(pk=pk))


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(smtp, data_dir: Path, name: str, *, lease: int = 2, batch: int = 5,
                 tick: float = 0.2) -> subprocess.Popen:
    env = {**os.environ, **smtp.env(), "DATABASE_URL": database_url(),
           "REFNET_DATA_DIR": str(data_dir), "REFNET_OUTBOX_LEASE_SECONDS": str(lease),
           "REFNET_OUTBOX_BATCH": str(batch), "LOG_LEVEL": "WARNING"}
    log = (data_dir / f"{name}.log").open("wb")
    return subprocess.Popen([REFNET, "worker", "--no-rules", "--tick", str(tick), "--name", name],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def queue_emails(count: int, partner) -> list[int]:
    now = timezone.now()
    rows = [OutboxMessage(channel="email", purpose="check_in", audience="clinical",
                          partner=partner, to_name=f"Dr. Test {i}",
                          to_address=f"doctor{i}@clinic.example", subject=f"Update {i}",
                          body_text="Checking in.", next_attempt_at=now, max_attempts=6)
            for i in range(count)]
    OutboxMessage.objects.bulk_create(rows, batch_size=1000)
    return list(OutboxMessage.objects.order_by("id").values_list("id", flat=True))


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise


@pytest.fixture
def processes():
    """Started workers; whatever a test leaves running is killed before the DB is flushed."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
        smtp_server, make_partner, outbox_data_dir, processes):
    """Worker A is SIGKILLed while the SMTP server holds its 3rd message in DATA; worker B
    takes over A's claimed rows once A's lease lapses. Every message arrives exactly once.

    The window SMTP itself cannot close: had A died after the server's "250 accepted" but
    before A committed status=sent, B would send that message again. The message carries
    the same deterministic Message-ID both times (<outbox-{id}.{created}@domain>), so a receiving
    system can deduplicate it. This test kills A before the 250, inside DATA, where the
    server drops the unfinished message as a real server does.
    """
    ids = queue_emails(12, make_partner(name="Dr. Kill Test", kind="clinician"))
    smtp_server.block_nth(3)
    first = start_worker(smtp_server, outbox_data_dir, "worker-a")
    processes.append(first)
    assert smtp_server.blocked.wait(30), "worker A never reached the 3rd message"
    assert smtp_server.message_ids() == [_mid(i) for i in ids[:2]]

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    smtp_server.release()
    claimed = OutboxMessage.objects.filter(status=OutboxStatus.SENDING, claimed_by="worker-a")
    assert claimed.count() == 3  # the held message and the two after it in A's batch

    second = start_worker(smtp_server, outbox_data_dir, "worker-b")
    processes.append(second)
    wait_until(lambda: OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 12,
               60, "all 12 messages sent")
    assert stop(second) == 0

    received = collections.Counter(smtp_server.message_ids())
    assert received == collections.Counter(_mid(i) for i in ids)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    taken_over = OutboxMessage.objects.filter(pk__in=ids[2:5])
    assert {m.claimed_by for m in taken_over} == {"worker-b"}


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_message_in_hand_releases_the_rest_and_exits_0(
        smtp_server, make_partner, outbox_data_dir, processes):
    ids = queue_emails(8, make_partner(name="Dr. Term Test", kind="clinician"))
    smtp_server.block_nth(2)
    worker = start_worker(smtp_server, outbox_data_dir, "worker-t", lease=60)
    processes.append(worker)
    assert smtp_server.blocked.wait(30), "the worker never reached the 2nd message"

    worker.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the signal arrives while the message is held in DATA
    smtp_server.release()

    assert worker.wait(20) == 0
    assert smtp_server.message_ids() == [_mid(i) for i in ids[:2]]
    statuses = dict(OutboxMessage.objects.values_list("id", "status"))
    assert [statuses[i] for i in ids] == ["sent"] * 2 + ["queued"] * 6
    rest = OutboxMessage.objects.filter(pk__in=ids[2:])
    assert {(m.claimed_by, m.attempts, m.lease_until) for m in rest} == {("", 0, None)}
    beat = WorkerHeartbeat.objects.get(worker="worker-t")
    assert beat.stopped_at is not None and beat.pid == worker.pid


@pytest.mark.django_db(transaction=True)
def test_four_workers_share_10000_messages_without_a_double(
        smtp_server, make_partner, outbox_data_dir, processes):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row claiming with SKIP LOCKED across processes "
                    "(SQLite has one writer; set DATABASE_URL=postgres://...)")
    smtp_server.keep_raw = False
    ids = queue_emails(10_000, make_partner(name="Dr. Load Test", kind="clinician"))
    for n in range(4):
        processes.append(start_worker(smtp_server, outbox_data_dir, f"worker-{n}",
                                      lease=60, batch=50, tick=0.5))

    smtp_server.wait_for(10_000, timeout=240)
    wait_until(lambda: OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 10_000,
               30, "all 10,000 rows marked sent")
    assert [stop(p) for p in processes] == [0, 0, 0, 0]

    received = collections.Counter(smtp_server.message_ids())
    assert len(received) == 10_000
    assert max(received.values()) == 1
    assert set(received) == {_mid(i) for i in ids}
    by_worker = collections.Counter(OutboxMessage.objects.values_list("claimed_by", flat=True))
    assert len(by_worker) == 4  # every worker took a share
