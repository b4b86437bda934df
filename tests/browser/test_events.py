"""Outreach in the browser: a playbook becomes an event, gyms are invited by category and
sent invitations; at a past event, marking who came refreshes the attribution without a
reload."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from refnet.outbox.models import OutboxMessage
from refnet.outreach.models import Event, Invitee
from refnet.outreach.playbooks import playbooks_ensure
from refnet.outreach.services import event_save, invitees_add

from .test_intake_keyboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gyms(make_partner):
    playbooks_ensure()  # transactional tests empty the table the migration seeded
    return [make_partner(name=name, kind="local_business", category="gym_trainer",
                         email=email)
            for name, email in [("Iron Works Gym", "front@ironworks.example"),
                                ("Summit Strength", "hello@summit.example"),
                                ("No-Email Boxing", "")]]


def test_playbook_to_invitations(page, live_server, users, gyms, screenshot):
    log_in(page, live_server, "otto")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/outreach/playbooks/?category=gym_trainer")
    screenshot("events-playbooks")
    page.get_by_role("link", name="Use this playbook").first.click()
    start = timezone.localtime() + timedelta(days=21)
    page.fill("#id_starts_at", start.strftime("%Y-%m-%dT18:00"))
    page.fill("#id_place", "Iron Works Gym, 5 Elm St")
    page.get_by_role("button", name="Create the event").click()
    page.wait_for_url("**/outreach/events/*/")
    event = Event.objects.get()

    page.select_option("#id_category", "gym_trainer")
    page.wait_for_selector("#picker-results li")
    assert "Summit Strength" in page.inner_text("#picker-results")
    page.get_by_role("button", name="Add all 3 shown").click()
    page.wait_for_load_state()
    assert event.invitees.count() == 3
    page.get_by_role("button", name="Send invitations").click()
    page.wait_for_load_state()
    body = page.inner_text("main")
    assert "2 invitations queued in the outbox" in body
    assert "Not sent to No-Email Boxing: no email address" in body
    assert OutboxMessage.objects.filter(purpose="event_invite").count() == 2
    screenshot("events-detail-sent")


def test_marking_attendance_updates_attribution(page, live_server, users, gyms,
                                                make_referral, screenshot):
    start = timezone.now() - timedelta(days=20)
    event = event_save(by=None, title="Trainer talk", kind="talk", starts_at=start,
                       ends_at=start + timedelta(hours=1), cost=Decimal("400"),
                       owner=users["outreach"], place="Iron Works Gym")
    invitees_add(event=event, by=None, partners=gyms)
    for days in (2, 5):
        make_referral(source_partner=gyms[0], received_at=start + timedelta(days=days))
    log_in(page, live_server, "otto")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/outreach/events/{event.pk}/")
    page.evaluate("window.__noReload = true")
    invitee = Invitee.objects.get(partner=gyms[0])
    page.locator(f"#invitee-{invitee.pk}").get_by_role("button", name="Mark as came").click()
    page.wait_for_selector("#attribution:has-text('$200.00')")
    assert page.evaluate("window.__noReload") is True
    # The new row listens for changes only once htmx has settled it (20 ms after the swap,
    # when it drops the htmx-added class): a change made before is lost.
    page.wait_for_function("() => !document.querySelector('.htmx-added, .htmx-settling')")
    page.select_option(f"#rsvp-{invitee.pk}", "yes")
    page.wait_for_function(
        f"document.querySelector('#rsvp-{invitee.pk}').value === 'yes'")
    page.wait_for_selector("#guest-counts:has-text('1 yes')")
    assert "1 came" in page.inner_text("#guest-counts")
    screenshot("events-attribution")
    page.goto(f"{live_server.url}/outreach/")
    assert "$200.00" in page.inner_text("main")
    screenshot("events-list")
