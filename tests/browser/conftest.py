"""Browser tests: Playwright driving Debian's chromium against Django's live server."""

import os
from pathlib import Path

import pytest

from refnet.conftest import *  # noqa: F403  (users, location, make_patient, ...)
from refnet.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself (fixtures) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: apt-get install -y chromium (make test does)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


# Every page reports what its Content-Security-Policy blocked; chromium also logs each block.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
                + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def page(browser):
    """A fresh browser page. Any Content-Security-Policy violation on any page a test opens
    fails that test at teardown (page.csp_violations lists them)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.csp_violations = []
    page.on("console", lambda msg: msg.type == "error" and (
        "Content Security Policy" in msg.text or "CSP violation" in msg.text)
        and page.csp_violations.append(f"{page.url}: {msg.text}"))
    yield page
    context.close()
    assert page.csp_violations == [], "the Content-Security-Policy blocked something"


def wait_for_focus(page, selector):
    """Autofocus happens at a rendering step that can come after the load event: typing
    before it would lose the first keys."""
    page.wait_for_function(
        "sel => document.activeElement === document.querySelector(sel)", arg=selector)


def log_in(page, live_server, username):
    """Log in through the login page by keyboard, as a person would. Managers and admins
    then give the code from their authenticator app: the user gets one (a confirmed TOTP
    device) if they have none, and the code is computed from its key."""
    from refnet.accounts.models import User
    from refnet.twofactor.policy import role_requires_second_factor
    from refnet.twofactor.testing import totp_code, totp_device_for

    user = User.objects.get(username=username)
    device = totp_device_for(user) if role_requires_second_factor(user) else None
    page.goto(f"{live_server.url}/accounts/login/")
    wait_for_focus(page, "#id_username")
    page.keyboard.type(username)  # the username box has focus on arrival
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    if device is not None:
        page.wait_for_url("**/accounts/two-step/code/**")
        wait_for_focus(page, "#id_code")
        page.keyboard.type(totp_code(device))  # the code box has focus on arrival
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/accounts/" not in url)


@pytest.fixture
def screenshot(page):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
