"""The plan page and its editing: who may do what, what the page shows."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from refnet.followups.models import DoneHow, FollowUp
from refnet.followups.services import followup_complete
from refnet.growth.models import Goal, PlanItem
from refnet.growth.services import goal_save, item_save

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=ZoneInfo("America/New_York"))  # a Wednesday


@pytest.mark.parametrize(("role", "sees", "edits"), [
    ("front_desk", False, False), ("coordinator", True, False), ("outreach", True, False),
    ("manager", True, True), ("admin", True, True),
])
def test_who_may_see_and_edit_the_plan(login, role, sees, edits):
    client = login(role)
    assert (client.get(reverse("growth:plan")).status_code == 200) is sees
    response = client.post(reverse("growth:start"))
    assert (response.status_code == 403) is not edits
    assert Goal.objects.exists() is edits
    assert (client.get(reverse("growth:goal_new")).status_code == 200) is edits


def test_the_page_shows_progress_and_this_weeks_and_months_steps(login, users):
    mona, otto = users["manager"], users["outreach"]
    with time_machine.travel(NOW - timedelta(days=14), tick=False):
        goal = goal_save(by=mona, title="Grow the <network>", target_number=3,
                         target_metric="gym partners")
        done_late = item_save(by=mona, goal=goal, title="Call a gym", owner=otto,
                              cadence="once", next_due=date(2025, 3, 1))
        item_save(by=mona, goal=goal, title="Overdue step", owner=otto, cadence="once",
                  next_due=date(2025, 3, 10))
        item_save(by=mona, goal=goal, title="Visit a clinic", owner=otto, cadence="weekly",
                  next_due=date(2025, 3, 14))
        item_save(by=mona, goal=goal, title="Monthly report", owner=mona, cadence="monthly",
                  next_due=date(2025, 3, 28))
        item_save(by=mona, goal=goal, title="April thing", owner=mona, cadence="once",
                  next_due=date(2025, 4, 2))
    with time_machine.travel(NOW, tick=False):
        followup_complete(followup=FollowUp.objects.get(key=f"plan:{done_late.pk}:2025-03-01"),
                          how=DoneHow.CALLED, by=otto)
        page = login("outreach").get(reverse("growth:plan")).content.decode()
    assert "Grow the &lt;network&gt;" in page
    assert "Target: 3 gym partners" in page
    assert ("Steps done on time: <strong>0</strong>, late: <strong>2</strong>, open: "
            "<strong>3</strong>") in page
    week = page[page.index('id="h-week"'):page.index('id="h-month"')]
    month = page[page.index('id="h-month"'):page.index('id="goal-')]
    assert "Overdue step" in week and "Visit a clinic" in week
    assert "Monthly report" in month and "April thing" not in month
    assert "Edit goal" not in page  # outreach sees, does not edit


def test_a_manager_adds_and_edits_steps(login, users):
    client = login("manager")
    client.post(reverse("growth:goal_new"), {"title": "Capture every referral",
                                             "status": "active"})
    goal = Goal.objects.get()
    response = client.post(reverse("growth:item_new", args=[goal.pk]), {
        "title": "Train the front desk", "owner": users["front_desk"].pk, "cadence": "once",
        "next_due": "2025-03-20", "active": "on"})
    assert response.status_code == 302
    item = PlanItem.objects.get()
    assert FollowUp.objects.get().assignee == users["front_desk"]
    response = client.post(reverse("growth:item_edit", args=[item.pk]), {
        "title": "Train the front desk", "owner": users["front_desk"].pk,
        "cadence": "weekly", "next_due": "not a date", "active": "on"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
    client.post(reverse("growth:item_edit", args=[item.pk]), {"delete": "1"})
    assert not PlanItem.objects.exists()
    assert FollowUp.objects.get().status == "skipped"


def test_a_target_without_its_metric_is_refused(login):
    response = login("manager").post(reverse("growth:goal_new"), {
        "title": "More", "status": "active", "target_number": "5"})
    assert response.status_code == 400
    assert "Say what the target number counts." in response.content.decode()
    assert not Goal.objects.exists()
