"""`refnet worker` outlives a database failure in a tick (a restart, a failover)."""

import pytest
from django.core.management import call_command
from django.db import OperationalError

from refnet.outbox.management.commands import worker as command
from refnet.outbox.models import WorkerHeartbeat


@pytest.mark.django_db
def test_a_database_error_in_a_tick_is_logged_and_the_next_tick_runs(monkeypatch, caplog):
    calls = []
    dropped = []

    def tick(self, *, name, options, stop):
        calls.append(name)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        stop.set()  # the second tick ran: enough

    monkeypatch.setattr(command.Command, "tick", tick)
    monkeypatch.setattr(command, "drop_connection", lambda: dropped.append(True))
    call_command("worker", "--tick", "0.01", "--name", "w-db", "--no-deliver")
    assert calls == ["w-db", "w-db"]
    assert dropped == [True]
    assert "the database failed during a tick" in caplog.text
    assert WorkerHeartbeat.objects.get(worker="w-db").stopped_at is not None


@pytest.mark.django_db
def test_once_still_fails_loudly(monkeypatch):
    def tick(self, *, name, options, stop):
        raise OperationalError("down")

    monkeypatch.setattr(command.Command, "tick", tick)
    with pytest.raises(OperationalError):
        call_command("worker", "--once", "--name", "w-once")


def test_a_message_sent_while_the_database_went_away_is_recorded_not_sent_again(
        smtp_server, enqueue, monkeypatch):
    from refnet.outbox import worker as delivery
    from refnet.outbox.channels.email import message_id_for
    from refnet.outbox.models import OutboxStatus

    message = enqueue(audience="clinical")
    original = delivery._Batch._finish

    def finish(self, msg, result, **fields):
        if result == "sent":  # the SMTP server said 250; now the database restarts
            raise OperationalError("server closed the connection unexpectedly")
        return original(self, msg, result, **fields)

    monkeypatch.setattr(delivery._Batch, "_finish", finish)
    with pytest.raises(OperationalError):
        delivery.deliver_due(worker="w1")
    monkeypatch.setattr(delivery._Batch, "_finish", original)

    counts = delivery.deliver_due(worker="w1")  # the next tick, database back

    message.refresh_from_db()
    assert counts.sent == 1
    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    assert smtp_server.message_ids() == [message_id_for(message)]  # once, not twice
    assert [a.result for a in message.delivery_attempts.all()] == ["sent"]
    assert delivery.UNRECORDED_SENT == {}
