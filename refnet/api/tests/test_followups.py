"""/api/followups: everyone's follow-ups with filters; done and skipped through the API."""

from datetime import date

import pytest

from refnet.followups.models import FollowUp
from refnet.followups.services import followup_task_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(users, make_partner):
    gym = make_partner(name="Birch Gym", kind="local_business")
    made = {}
    for name, who, due, kind in [("call", "outreach", date(2026, 3, 2), "prospect"),
                                 ("visit", "outreach", date(2026, 3, 9), "event"),
                                 ("plan", "manager", date(2026, 3, 4), "plan_step")]:
        made[name], _ = followup_task_create(kind=kind, summary=f"{name} Birch Gym",
                                             assignee=users[who], due_at=due, by=None,
                                             partner=gym)
    return made


def summaries(response):
    return [f["summary"] for f in response.json()["results"]]


def test_list_filters(api, tasks):
    client = api("manager", write=False)
    assert summaries(client.get("/followups")) == ["call Birch Gym", "plan Birch Gym",
                                                   "visit Birch Gym"]
    assert summaries(client.get("/followups", {"assignee": "otto"})) == ["call Birch Gym",
                                                                         "visit Birch Gym"]
    assert summaries(client.get("/followups", {"kind": "plan_step"})) == ["plan Birch Gym"]
    assert summaries(client.get("/followups", {"due_before": "2026-03-05"})) == [
        "call Birch Gym", "plan Birch Gym"]
    body = client.get("/followups", {"assignee": "ghost"}).json()
    assert body["errors"][0]["field"] == "query.assignee"


def test_complete_then_complete_again_is_a_conflict(api, tasks):
    client = api("manager")
    pk = tasks["call"].pk
    response = client.post(f"/followups/{pk}/complete", {"how": "called", "note": "Left a VM"})
    assert response.status_code == 200 and response.json()["status"] == "done"
    followup = FollowUp.objects.get(pk=pk)
    assert (followup.done_how, followup.note) == ("called", "Left a VM")
    again = client.post(f"/followups/{pk}/complete", {"how": "called"})
    assert again.status_code == 409 and "already done" in again.json()["message"]
    assert summaries(client.get("/followups", {"status": "done"})) == ["call Birch Gym"]


def test_skip_needs_a_reason(api, tasks):
    client = api("manager")
    pk = tasks["visit"].pk
    body = client.post(f"/followups/{pk}/skip", {"reason": ""}).json()
    assert body["errors"][0]["field"] == "body.reason"
    assert FollowUp.objects.get(pk=pk).status == "open"
    response = client.post(f"/followups/{pk}/skip", {"reason": "Event cancelled"})
    assert response.json()["skip_reason"] == "Event cancelled"
