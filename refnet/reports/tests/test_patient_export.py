"""The patient-level rows behind a report: who may export them, what the file holds (and
leaves out), the cap, the audit trail."""

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.referrals.services import referral_transition

NY = ZoneInfo("America/New_York")
NOW = datetime(2025, 3, 20, 10, 0, tzinfo=NY)
ROW_REPORTS = ["referrals-over-time", "conversion-by-source", "speed", "patient-origin"]
HEADER = ["Referral ID", "Received", "Patient", "Birth date", "Source partner", "Location",
          "Service line", "Status", "Contacted", "Scheduled", "Seen", "Closed"]


def rows_url(slug="conversion-by-source"):
    return reverse("reports:rows", args=[slug])


MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def practice(users, location, other_location, service_line, make_partner, make_patient,
             make_referral):
    """March: Ada (scheduled, at `location`, with a reason and diagnosis), a hostile name at
    `location`, Bo at the other location. February: one more (outside the period)."""
    smith = make_partner("John Smith, MD")
    ada = make_patient("Ada", "Lovelace", birth_date=date(1980, 5, 17))
    evil = make_patient("Eve", "=HYPERLINK(\"http://x\")")
    bo = make_patient("Bo", "Other")
    a = make_referral(patient=ada, source_partner=smith, service_line=service_line,
                      received_at=datetime(2025, 3, 3, 9, 15, tzinfo=NY),
                      reason="Secret back pain story", diagnosis="M54.5")
    referral_transition(referral=a, to_status="contacted", by=users["coordinator"])
    a.refresh_from_db()
    referral_transition(referral=a, to_status="scheduled", by=users["coordinator"])
    e = make_referral(patient=evil, source_partner=smith,
                      received_at=datetime(2025, 3, 31, 23, 30, tzinfo=NY))
    b = make_referral(patient=bo, source_partner=smith, location=other_location,
                      received_at=datetime(2025, 3, 10, 12, tzinfo=NY))
    make_referral(source_partner=smith, received_at=datetime(2025, 2, 28, 23, 30, tzinfo=NY))
    AuditEvent.objects.all().delete()
    return {"a": a, "e": e, "b": b, "ada": ada, "evil": evil, "bo": bo}


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.parametrize("role", ["coordinator", "manager", "admin"])
def test_allowed_roles_get_the_csv_with_the_reports_period(practice, login, role):
    response = login(role).get(rows_url(), {**MARCH, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="refnet-conversion-by-source-rows-2025-03-01-to-2025-03-31.csv"' in \
        response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == HEADER
    a, e, b = practice["a"], practice["e"], practice["b"]
    assert [int(r[0]) for r in rows[1:]] == [a.pk, b.pk, e.pk]  # oldest first; Feb left out
    first = dict(zip(HEADER, rows[1], strict=True))
    assert first["Received"] == "2025-03-03 09:15"
    assert first["Patient"] == "Lovelace, Ada" and first["Birth date"] == "1980-05-17"
    assert first["Source partner"] == "John Smith, MD"
    assert first["Status"] == "Scheduled"
    assert first["Contacted"] == "2025-03-20" and first["Scheduled"] == "2025-03-20"
    assert first["Seen"] == "" and first["Closed"] == ""
    body = "\n".join(",".join(r) for r in rows)
    assert "Secret back pain" not in body and "M54.5" not in body  # no clinical fields


def test_formula_like_names_are_neutralized(practice, login):
    rows = read_csv(login("manager").get(rows_url(), {**MARCH, "format": "csv"}))
    evil = next(r for r in rows[1:] if int(r[0]) == practice["e"].pk)
    assert evil[2] == "'=HYPERLINK(\"http://x\"), Eve"


def test_filters_of_the_report_apply(practice, login, other_location):
    rows = read_csv(login("manager").get(rows_url("referrals-over-time"), {
        **MARCH, "location": other_location.pk, "format": "csv"}))
    assert [int(r[0]) for r in rows[1:]] == [practice["b"].pk]


def test_every_export_is_audited_one_event_per_patient(practice, login, users):
    response = login("coordinator").get(rows_url("speed"), {**MARCH, "format": "csv"})
    read_csv(response)
    events = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert sorted(events.values_list("patient_id", flat=True)) == sorted(
        [practice["ada"].pk, practice["evil"].pk, practice["bo"].pk])
    assert {(e.user_id, e.what) for e in events} == {(users["coordinator"].pk,
                                                      "reports:rows:speed")}


def test_the_cap_cuts_the_export_and_says_so(practice, login, settings):
    settings.REFNET_REPORTS_PATIENT_ROWS_MAX = 2
    response = login("manager").get(rows_url(), {**MARCH, "format": "csv"})
    rows = read_csv(response)
    assert [int(r[0]) for r in rows[1:3]] == [practice["a"].pk, practice["b"].pk]
    assert rows[3][0].startswith("Cut at 2 rows: more referrals match.")
    assert len(rows) == 4
    assert response["X-Refnet-Rows-Cut"] == "2"
    # Only the patients actually exported are on the record.
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 2


def test_xlsx_holds_the_same_rows_and_says_what_it_covers(practice, login, settings):
    settings.REFNET_REPORTS_PATIENT_ROWS_MAX = 2
    response = login("manager").get(rows_url("patient-origin"), {**MARCH, "format": "xlsx"})
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    sheet = [list(r) for r in wb["Referrals"].iter_rows(values_only=True)]
    assert list(sheet[0]) == HEADER
    assert [r[0] for r in sheet[1:3]] == [practice["a"].pk, practice["b"].pk]
    assert sheet[3][0].startswith("Cut at 2 rows")
    about = dict(wb["About"].iter_rows(values_only=True))
    assert about["Rows"] == "2" and about["Cut"].startswith("Cut at 2 rows")
    assert "Mar 1, 2025 to Mar 31, 2025" in about["Filters"]


def test_outreach_gets_403_and_never_sees_the_link(practice, login):
    client = login("outreach")
    for slug in ROW_REPORTS:
        assert client.get(rows_url(slug), {**MARCH, "format": "csv"}).status_code == 403
        page = client.get(reverse("reports:report", args=[slug])).content.decode()
        assert "/rows/" not in page and "Export rows" not in page
    assert "/rows/" not in client.get(reverse("reports:dashboard")).content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_reports_with_rows_behind_them_offer_the_link(practice, login):
    client = login("coordinator")
    for slug in ROW_REPORTS:
        page = client.get(reverse("reports:report", args=[slug]), MARCH).content.decode()
        assert f"/reports/r/{slug}/rows/?" in page and "Export rows" in page
        assert "start=2025-03-01&amp;end=2025-03-31" in page
    for slug in ("partner-health", "loop-health", "leaderboard"):
        page = client.get(reverse("reports:report", args=[slug])).content.decode()
        assert "/rows/" not in page
        assert client.get(rows_url(slug), MARCH).status_code == 404
    page = client.get(reverse("reports:dashboard"), {"month": "2025-03"}).content.decode()
    assert "/reports/r/referrals-over-time/rows/?start=2025-03-01&amp;end=2025-03-31" in page


def test_bad_input_exports_nothing(practice, login):
    client = login("manager")
    response = client.get(rows_url(), {"start": "2025-13-01", "end": "2025-03-31",
                                       "format": "csv"})
    assert response.status_code == 400 and b"start" in response.content
    assert client.get(rows_url(), {**MARCH, "format": "pdf"}).status_code == 400
    assert client.get(rows_url("no-such-report"), MARCH).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()
