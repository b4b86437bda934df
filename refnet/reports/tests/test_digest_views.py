"""The digest settings page: choose weekly, monthly or off; see the next digest."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from refnet.reports.models import DigestSubscription

NY = ZoneInfo("America/New_York")


@pytest.mark.parametrize("role", ["coordinator", "outreach", "manager", "admin"])
def test_reports_roles_see_the_page_and_preview(login, role):
    response = login(role).get("/reports/digest/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Preview of the next digest" in body
    assert "What changed" in body
    # The fixture users have no email address: the page says why nothing will come.
    assert "no email address on file" in body


def test_front_desk_may_not(login):
    assert login("front_desk").get("/reports/digest/").status_code == 403


def test_choose_monthly_then_off(login, users):
    client = login("outreach")
    otto = users["outreach"]
    otto.email = "otto@practice.example"
    otto.save()
    with time_machine.travel(datetime(2026, 3, 11, 12, tzinfo=NY), tick=False):
        response = client.post("/reports/digest/", {"frequency": "monthly"})
        assert response.status_code == 302
        sub = DigestSubscription.objects.get(user=otto)
        assert (sub.frequency, sub.is_active) == ("monthly", True)
        # Starts with the next period: February's digest is not sent on March 11.
        assert sub.last_period_end == date(2026, 2, 28)
        page = client.get("/reports/digest/").content.decode()
        assert "You will get a monthly digest." in page
        assert "for the March 2026, goes out Wednesday, April 1 at 7:00 AM" in page
        assert re.search(r'value="monthly"[^>]*checked', page)
        assert not re.search(r'value="weekly"[^>]*checked', page)
        assert "no email address on file" not in page

        client.post("/reports/digest/", {"frequency": "off"})
        sub.refresh_from_db()
        assert not sub.is_active
        assert "The digest is off." in client.get("/reports/digest/").content.decode()


def test_a_bad_choice_names_the_field(login):
    response = login("manager").post("/reports/digest/", {"frequency": "hourly"})
    assert response.status_code == 200
    assert "Choose weekly, monthly or off." in response.content.decode()
    assert not DigestSubscription.objects.exists()
