"""Signing in with a second factor in a real browser, and the Content-Security-Policy: a
manager enrols an authenticator app from the enrolment page (the code computed from the
key shown there), then works the key pages (dashboard and report chart, intake search,
inbox, pipeline board with drag and drop, an auto-submitting filter) without the policy
blocking anything. The `page` fixture fails any test whose pages violate the policy."""

import base64
import re

import pytest
from django_otp.oath import totp

from refnet.conftest import PASSWORD
from refnet.outreach.playbooks import playbooks_ensure
from refnet.prospects.models import StageChange

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_from_secret(secret: str, ahead: int = 0) -> str:
    return f"{totp(base64.b32decode(secret), drift=ahead):06d}"


def test_manager_enrols_then_works_the_key_pages_within_the_policy(
    page, live_server, users, make_partner, make_referral, screenshot
):
    playbooks_ensure()
    smith = make_partner("John Smith, MD")
    make_referral(source_partner=smith)
    gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer",
                       owner=users["manager"])

    # Password, then the enrolment page: QR code, key and link, all as text or inline SVG.
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "mona")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/two-step/enroll/**")
    assert page.locator(".twofactor-qr svg").is_visible()
    secret = page.inner_text("#secret").strip()
    assert re.fullmatch(r"[A-Z2-7]{32,}", secret)
    screenshot("twofactor-enroll")
    page.fill("#id_code", "123456" if code_from_secret(secret) != "123456" else "654321")
    page.get_by_role("button", name="Confirm").click()
    assert "did not work" in page.inner_text("main")
    page.wait_for_timeout(1100)  # django-otp makes the next try wait a second
    page.fill("#id_code", code_from_secret(secret))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/accounts/two-step/backup-codes/**")
    assert page.locator("#backup-codes li").count() == 10
    screenshot("twofactor-backup-codes")
    page.get_by_role("link", name="I have saved them, continue").click()

    # The dashboard and a report with their server-drawn charts.
    page.wait_for_url("**/reports/")
    assert page.locator(".reports-chart svg").first.is_visible()
    page.goto(f"{live_server.url}/reports/r/")
    page.locator(".reports-index a").first.click()
    page.wait_for_selector("#h-table")

    # Intake: the htmx-driven search (intake.js) still answers.
    page.goto(f"{live_server.url}/referrals/intake/")
    page.locator("#id_source_query").fill("Smith")
    page.wait_for_selector("#source-options [role=option]:has-text('John Smith, MD')")

    # Inbox, and the playbooks filter that submits itself on change (app.js, not onchange=).
    page.goto(f"{live_server.url}/inbox/")
    page.wait_for_selector("main h1")
    page.goto(f"{live_server.url}/outreach/playbooks/")
    page.select_option("#category", "gym_trainer")
    page.wait_for_url("**/outreach/playbooks/?category=gym_trainer")

    # The pipeline board: drag a card (pipeline.js) to Engaged.
    page.goto(f"{live_server.url}/network/")
    page.locator(f"#pcard-{gym.pk}").drag_to(
        page.locator("section.col[data-stage=engaged] ul.pcards"))
    page.locator(f"section.col[data-stage=engaged] #pcard-{gym.pk}").wait_for()
    assert StageChange.objects.get(partner=gym).to_stage == "engaged"
    screenshot("twofactor-board-after-drag")

    assert page.csp_violations == []


def test_the_policy_blocks_inline_script_and_the_test_sees_it(page, live_server, users):
    """The check above can fail: an inline script injected into a page is blocked and seen."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.injected = true';
                             document.body.appendChild(s); }""")
    page.wait_for_function("() => true")
    assert page.evaluate("window.injected === undefined")
    page.wait_for_timeout(200)
    assert any("script-src" in v for v in page.csp_violations)
    page.csp_violations.clear()  # seen as expected; the fixture would fail the test otherwise


def test_admin_signs_in_with_the_code_from_the_app(page, live_server, users):
    from .conftest import log_in

    log_in(page, live_server, "adam")
    assert page.url.endswith("/referrals/")
    page.goto(f"{live_server.url}/accounts/two-step/users/")
    assert "Second factors" in page.inner_text("main h1")
