"""A manager logs a gift to a clinician: the live check says it would be refused and why
before anything is submitted, the override with a reason records it, the report shows it
over the cap."""

from datetime import date

import pytest

from refnet.rewards.services import appreciation_issue, caps_ensure_defaults

from .test_intake_keyboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_live_check_then_override(page, live_server, users, make_partner, screenshot):
    caps_ensure_defaults()  # a transactional test starts from flushed tables
    smith = make_partner("John Smith, MD")
    today = date.today()
    appreciation_issue(partner=smith, kind="event", description="Conference registration",
                       value="500.00", given_on=date(today.year, 1, 2), by=users["manager"])
    log_in(page, live_server, "mona")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    page.goto(f"{live_server.url}/rewards/partner/{smith.pk}/")
    page.fill("#id_description", "Retirement dinner")
    page.fill("#id_value", "60")
    page.locator("#id_value").blur()
    page.wait_for_selector("#reward-check.refused")
    check = page.inner_text("#reward-check")
    assert "Would be refused unless a manager overrides it with a reason" in check
    assert "$35.00 is left and this is $60.00" in check
    screenshot("rewards-live-check")
    page.fill("#id_override_reason", "Retirement, approved at the partners meeting")
    page.get_by_role("button", name="Check and record").click()
    page.wait_for_selector(".messages")
    assert "(over cap: manager override)" in page.inner_text(".messages")
    screenshot("rewards-logged")
    page.goto(f"{live_server.url}/rewards/report/")
    row = page.locator("tr.rewards-over")
    assert "John Smith, MD" in row.inner_text() and "over by $25.00" in row.inner_text()
    screenshot("rewards-report")
