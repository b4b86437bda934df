"""A manager's Monday: the dashboard with its trend chart, then a report, downloaded as XLSX
and PDF, and both files open."""

import io
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone

from refnet.referrals.services import referral_transition

from .test_intake_keyboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def practice(users, location, make_partner, make_referral):
    now = timezone.now()
    smith = make_partner("John Smith, MD")
    gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer")
    riverside = make_partner("Riverside Family Medicine", kind="medical_practice")
    # A little history: a referral or two most months of the last two years.
    for months_ago in range(0, 24):
        when = now - timedelta(days=30 * months_ago + 1)
        make_referral(source_partner=smith if months_ago % 3 else riverside, received_at=when)
        if months_ago % 4 == 0:
            make_referral(source_partner=gym, received_at=when)
    first = make_referral(source_partner=smith, received_at=now - timedelta(hours=2))
    for status in ("contacted", "scheduled", "seen", "closed_won"):
        first = referral_transition(referral=first, to_status=status, by=users["coordinator"])


def test_manager_reads_the_dashboard_and_downloads_a_report(
    page, live_server, practice, screenshot
):
    log_in(page, live_server, "mona")
    page.wait_for_url("**/reports/")
    chart = page.locator(".reports-chart svg").first
    assert chart.is_visible()
    assert chart.locator("rect").count() >= 24
    assert "John Smith, MD" in page.inner_text("main")
    screenshot("reports-dashboard")

    page.get_by_role("link", name="All reports").click()
    page.wait_for_url("**/reports/r/")
    screenshot("reports-list")
    page.locator(".reports-index a").first.click()
    page.wait_for_selector("#h-table")
    assert page.locator(".reports-chart svg").count() <= 1
    screenshot("reports-report")

    with page.expect_download() as xlsx_info:
        page.get_by_role("link", name="Excel (XLSX)").click()
    xlsx = xlsx_info.value
    assert xlsx.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(open(xlsx.path(), "rb").read()))
    assert book.active.max_row >= 2

    with page.expect_download() as pdf_info:
        page.get_by_role("link", name="PDF").click()
    pdf = pdf_info.value
    assert pdf.suggested_filename.endswith(".pdf")
    assert open(pdf.path(), "rb").read(4) == b"%PDF"
