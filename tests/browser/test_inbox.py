"""A coordinator works the inbox in the browser: the overdue thank-you comes first, Done
with "called" takes it off the list without a page reload, Snooze moves another; a manager
switches to everyone's follow-ups."""

from datetime import timedelta

import pytest
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind

from .test_intake_keyboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def followup(key, kind, assignee, days, summary, **fields):
    due = timezone.now() + timedelta(days=days)
    return FollowUp.objects.create(key=key, kind=kind, assignee=assignee, due_at=due,
                                   original_due_at=due, summary=summary, **fields)


@pytest.fixture
def work(users, make_partner, make_referral, make_patient):
    cora = users["coordinator"]
    smith = make_partner("John Smith, MD")
    referral = make_referral(patient=make_patient("Ada", "Lovelace"), source_partner=smith)
    gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer")
    riverside = make_partner("Riverside Family Medicine", kind="medical_practice")
    return {
        "thank": followup("b:thank", RuleKind.THANK_REFERRER, cora, -2,
                          "Thank Dr. Smith for the referral", partner=smith, referral=referral),
        "check": followup("b:check", RuleKind.CHECK_IN, cora, 0,
                          "Check in with Peak Fitness Gym (every 90 days)", partner=gym),
        "reengage": followup("b:reengage", RuleKind.REENGAGE, users["outreach"], -4,
                             "Riverside has gone quiet: 1 referral in 90 days, was 6",
                             partner=riverside),
        "later": followup("b:later", RuleKind.CHECK_IN, cora, 5,
                          "Check in with Riverside Family Medicine", partner=riverside),
    }


def test_coordinator_marks_done_and_snoozes_without_reload(page, live_server, work, screenshot):
    log_in(page, live_server, "cora")
    page.wait_for_url("**/referrals/")
    page.goto(f"{live_server.url}/inbox/")
    rows = page.locator(".inbox-row")
    assert "Thank Dr. Smith" in rows.first.inner_text()
    assert "2 days overdue" in rows.first.inner_text()
    assert page.inner_text("#nav-inbox-count") == "2"
    screenshot("inbox")

    # A marker on window survives htmx swaps and disappears on a reload.
    page.evaluate("window.__noReload = true")
    thank = page.locator(f"#followup-{work['thank'].pk}")
    thank.locator("summary", has_text="Done").click()
    screenshot("inbox-done-open")
    thank.get_by_role("button", name="Called").click()
    page.wait_for_selector(f"#followup-{work['thank'].pk}", state="detached")
    assert "Done: Thank-you for John Smith, MD (called)." in page.inner_text("#inbox-status")
    assert page.inner_text("#inbox-count-overdue") == "0"
    assert page.inner_text("#nav-inbox-count") == "1"
    assert page.evaluate("window.__noReload") is True

    check = page.locator(f"#followup-{work['check'].pk}")
    check.locator("summary", has_text="Snooze").click()
    # The one-click choices depend on the weekday (no "Next week" on a Friday, when the
    # next working day is Monday): take the later one.
    check.locator("form[action*=snooze] .inbox-buttons button").last.click()
    page.wait_for_selector(f"#followup-{work['check'].pk}", state="detached")
    assert "Snoozed: Check-in for Peak Fitness Gym" in page.inner_text("#inbox-status")
    assert page.evaluate("window.__noReload") is True
    screenshot("inbox-after-actions")

    work["thank"].refresh_from_db()
    work["check"].refresh_from_db()
    assert (work["thank"].status, work["thank"].done_how) == (FollowUpStatus.DONE, "called")
    # Snoozed to 8:00 on a later working day (Monday at the latest).
    assert work["check"].due_at.date() > timezone.localdate()
    assert work["check"].due_at < timezone.now() + timedelta(days=8)
    assert work["check"].status == FollowUpStatus.OPEN


def test_manager_switches_to_everyone(page, live_server, work, screenshot):
    log_in(page, live_server, "mona")
    page.wait_for_url("**/reports/")
    page.goto(f"{live_server.url}/inbox/")
    page.get_by_role("link", name="Everyone").click()
    page.wait_for_selector("text=Everyone's follow-ups")
    owners = [row.split("\t") for row in
              page.locator("#h-owners + table tbody tr").all_inner_texts()]
    # The most overdue, then the most due today. The referral's own thank-you (made by the
    # rule) names the patient, so it went to the coordinator, not to nobody.
    assert [o[:3] for o in owners] == [["Cora", "1", "1"], ["Otto", "1", "0"]]
    assert "Riverside has gone quiet" in page.inner_text("main")
    screenshot("inbox-everyone")
