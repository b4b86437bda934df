"""`refnet worker` schedules the next plan step once the current one is done."""

from datetime import date
from unittest import mock

from django.core.management import call_command

from refnet.followups.models import DoneHow, FollowUp
from refnet.followups.services import followup_complete
from refnet.growth.services import goal_save, item_save


def test_a_worker_tick_schedules_the_next_step(users):
    otto = users["outreach"]
    goal = goal_save(by=None, title="Grow")
    item = item_save(by=None, goal=goal, title="Call a gym", owner=otto, cadence="weekly",
                     next_due=date(2025, 1, 29))
    followup_complete(followup=FollowUp.objects.get(), how=DoneHow.CALLED, by=otto)
    # The test's connection must stay open (the worker closes "old" ones each tick).
    with mock.patch("refnet.outbox.management.commands.worker.close_old_connections"):
        call_command("worker", "--once", "--no-deliver", "--name", "test-worker")
    assert FollowUp.objects.filter(key=f"plan:{item.pk}:2025-02-05", assignee=otto).exists()
