"""Admins browse the audit log in the app (filters, paging newest first) and export it as a
CSV; the export is itself on the record; nobody else may open either."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from refnet.accounts.audit import audit_append_values
from refnet.accounts.models import AuditAction, AuditEvent


def _rows(n, *, username="cora", action=AuditAction.VIEW, at=None, what="referral:1"):
    audit_append_values([(at, None, username, 100 + i, action, what, "10.0.0.1", "/r/")
                         for i in range(n)])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "coordinator", "outreach", "manager"])
def test_only_admins_open_the_audit_log(login, role):
    client = login(role)
    assert client.get(reverse("audit_log")).status_code == 403
    assert client.get(reverse("audit_export")).status_code == 403


@pytest.mark.django_db
def test_filters_by_user_patient_action_and_dates(login):
    _rows(3, username="cora")
    _rows(2, username="fran", action=AuditAction.EXPORT)
    old_at = timezone.now() - timedelta(days=40)
    _rows(1, username="old", at=old_at)
    client = login("admin")

    def shown(**query):
        page = client.get(reverse("audit_log"), query)
        assert page.status_code == 200
        return [(r.username, r.patient_id) for r in page.context["rows"]]

    assert shown(username="fran") == [("fran", 101), ("fran", 100)]
    assert shown(patient=102) == [("cora", 102)]
    assert {u for u, _ in shown(action="export")} == {"fran"}
    # The row's own local date: 40 days back may cross a daylight-saving change, so
    # "today's local date minus 40" is a different day around midnight.
    day = timezone.localdate(old_at).isoformat()
    assert shown(since=day, until=day) == [("old", 100)]
    assert len(shown()) == 6
    bad = client.get(reverse("audit_log"), {"since": "2026-02-01", "until": "2026-01-01"})
    assert bad.status_code == 400 and b"before the start date" in bad.content


@pytest.mark.django_db
def test_pages_go_from_newest_to_oldest_without_gaps(login):
    _rows(120)
    client = login("admin")
    seen, url = [], reverse("audit_log")
    while url:
        page = client.get(url)
        seen.extend(r.pk for r in page.context["rows"])
        url = page.context["next_url"] and reverse("audit_log") + page.context["next_url"]
    assert seen == sorted(AuditEvent.objects.values_list("id", flat=True), reverse=True)
    assert len(seen) == 120


@pytest.mark.django_db
def test_export_streams_every_matching_row_and_is_recorded(login, users):
    _rows(3, username="cora", what="=HYPERLINK(\"http://evil\")")
    _rows(2, username="fran")
    client = login("admin")
    response = client.get(reverse("audit_export"), {"username": "cora"})
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:5] == ["id", "at (UTC)", "user", "user id", "action"]
    assert len(table) == 4
    assert {row[6] for row in table[1:]} == {"'=HYPERLINK(\"http://evil\")"}
    recorded = AuditEvent.objects.filter(action=AuditAction.EXPORT, username="adam").get()
    assert recorded.what == "audit log export: username=cora"
    assert recorded.user_id == users["admin"].pk
