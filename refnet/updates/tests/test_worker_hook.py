"""`refnet worker` sends the update batches that are due."""

from datetime import timedelta
from unittest import mock

from django.core.management import call_command

from refnet.updates.models import DeliveryStatus
from refnet.updates.services import update_create, update_publish

from .conftest import T0, contact_partner


def test_a_worker_tick_sends_the_due_batch(clock, gym):
    clock.at(T0 - timedelta(days=1))
    contact_partner(gym)
    clock.at(T0)
    update = update_create(by=None, title="Saturday hours", body="Open.", audience={})
    update_publish(update=update, by=None)
    clock.at(T0 + timedelta(days=29))
    # The test's connection must stay open (the worker closes "old" ones each tick).
    with mock.patch("refnet.outbox.management.commands.worker.close_old_connections"):
        call_command("worker", "--once", "--no-deliver", "--name", "test-worker")
    assert update.deliveries.get().status == DeliveryStatus.QUEUED
