"""The report pages: every report renders with its filters, chart and table; a wrong date
is reported next to its field; CSV, XLSX and PDF download the same figures; who may see
what."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from refnet.reports.selectors import REPORTS

NY = ZoneInfo("America/New_York")
NOW = datetime(2025, 3, 20, 10, 0, tzinfo=NY)
SLUGS = sorted(REPORTS)
LIST = reverse("reports:list")


def url(slug: str) -> str:
    return reverse("reports:report", args=[slug])


@pytest.fixture
def practice(users, location, service_line, make_partner, make_referral):
    with time_machine.travel(NOW, tick=False):
        smith = make_partner("John Smith, MD", owner=users["outreach"])
        gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer")
        for day in (3, 10):
            make_referral(source_partner=smith, service_line=service_line,
                          received_at=datetime(2025, 3, day, 12, tzinfo=NY))
        make_referral(source_partner=gym, received_at=datetime(2025, 1, 8, 12, tzinfo=NY))
    return {"smith": smith, "gym": gym}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_list_names_every_report(practice, login):
    page = login("manager").get(LIST).content.decode()
    for slug in SLUGS:
        assert url(slug) in page


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("role", ["manager", "outreach"])
def test_each_report_renders_for_manager_and_outreach(practice, login, slug, role):
    response = login(role).get(url(slug))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Download:" in page and "format=xlsx" in page
    assert "Apr 1, 2024 to Mar 31, 2025" in page  # the default: the last 12 months
    if role == "outreach":
        # Aggregates only: no link leads to the patient-level referral list.
        assert 'href="/referrals/?' not in page and "Synthetic" not in page


@pytest.mark.parametrize("slug", SLUGS)
def test_each_report_renders_with_debug_on(practice, login, slug, settings):
    """`make run` serves with DEBUG on, where Django formats each query for its log; a raw
    query with a bare % once failed only there."""
    settings.DEBUG = True
    assert login("manager").get(url(slug)).status_code == 200
    assert login("manager").get(reverse("reports:dashboard")).status_code == 200


@pytest.mark.parametrize("slug", SLUGS)
def test_each_report_takes_every_filter(practice, login, slug, location, service_line, users):
    response = login("manager").get(url(slug), {
        "period": "this_quarter", "granularity": "week", "location": location.pk,
        "service_line": service_line.pk, "partner_kind": "clinician",
        "owner": users["outreach"].pk,
    })
    assert response.status_code == 200
    assert "Jan 1, 2025 to Mar 31, 2025" in response.content.decode()


def test_presets_and_custom_dates(practice, login):
    client = login("manager")
    page = client.get(url(SLUGS[0]), {"period": "last_month"}).content.decode()
    assert "Feb 1, 2025 to Feb 28, 2025" in page
    page = client.get(url(SLUGS[0]), {"start": "2025-03-01", "end": "2025-03-15"}).content.decode()
    assert "Mar 1, 2025 to Mar 15, 2025" in page
    assert 'value="2025-03-15"' in page


def test_a_wrong_date_is_reported_next_to_its_field(practice, login):
    response = login("manager").get(url(SLUGS[0]), {"start": "2025-02-30", "end": "2025-03-31"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_start-error"' in page and "Enter a date like 2025-03-31" in page
    assert "Apr 1, 2024 to Mar 31, 2025" in page  # the default period is shown instead

    page = login("manager").get(url(SLUGS[0]), {"start": "2025-03-31", "end": "2025-03-01"}
                                ).content.decode()
    assert 'id="id_end-error"' in page and "before the start date" in page


def test_too_many_days_asks_for_a_coarser_granularity(practice, login):
    response = login("manager").get(url("referrals-over-time"), {
        "start": "2020-01-01", "end": "2025-03-31", "granularity": "day"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_granularity-error"' in page and "coarser granularity" in page
    assert "Jan 1, 2020 to Mar 31, 2025; by month" in page  # by month instead


def test_unknown_report_is_404(login, db):
    assert login("manager").get(url("no-such-report")).status_code == 404


@pytest.mark.parametrize("fmt,content_type,magic", [
    ("csv", "text/csv", b"\xef\xbb\xbf"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    ("pdf", "application/pdf", b"%PDF"),
])
def test_downloads_have_the_right_type_and_filename(practice, login, fmt, content_type, magic):
    response = login("manager").get(url(SLUGS[0]), {"period": "this_month", "format": fmt})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Content-Disposition"] == (
        f'attachment; filename="refnet-{SLUGS[0]}-2025-03-01-to-2025-03-31.{fmt}"')
    assert response.content.startswith(magic)


def test_the_downloads_carry_the_same_figures_as_the_page(practice, login):
    import openpyxl

    from refnet.reports.selectors import ReportFilter
    from refnet.reports.views.reports import report_entries

    entry = report_entries()[SLUGS[0]]
    kwargs = {"by": entry.by[0]} if entry.by else {}
    table = entry.function(ReportFilter(start=datetime(2025, 3, 1).date(),
                                        end=datetime(2025, 3, 31).date()),
                           user=None, **kwargs)
    client = login("manager")
    params = {"period": "this_month"}
    rows = list(csv.reader(io.StringIO(
        client.get(url(SLUGS[0]), {**params, "format": "csv"}).content.decode("utf-8-sig"))))
    assert rows[0] == [c.label for c in table.columns]
    book = openpyxl.load_workbook(io.BytesIO(
        client.get(url(SLUGS[0]), {**params, "format": "xlsx"}).content))
    sheet_rows = [[cell.value for cell in row] for row in book.active.iter_rows()]
    header = next(i for i, r in enumerate(sheet_rows) if r[:len(rows[0])] == rows[0])
    assert len([r for r in sheet_rows[header + 1:] if any(v not in (None, "") for v in r)]) \
        >= len(table.rows)


@pytest.mark.parametrize("role,status", [
    ("front_desk", 403), ("coordinator", 200), ("outreach", 200), ("manager", 200),
    ("admin", 200),
])
def test_who_may_open_reports(practice, login, role, status):
    client = login(role)
    assert client.get(LIST).status_code == status
    assert client.get(url(SLUGS[0])).status_code == status
    assert client.get(url(SLUGS[0]), {"format": "csv"}).status_code == status
