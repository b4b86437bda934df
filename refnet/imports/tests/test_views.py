"""The import pages: roles, the upload -> mapping -> dry run -> import flow, hostile input."""

import string

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refnet.imports.models import ImportJob, ImportMapping, JobStatus
from refnet.referrals.models import Patient, Referral
from refnet.twofactor.testing import force_login_verified

CSV = ("Received,First name,Last name,Clinic\n"
       "2024-01-05,Ada,Okafor,Main Street Clinic\n"
       "2024-01-06,<script>alert(1)</script>,Lind,Nowhere\n")


@pytest.fixture
def client_as(client, users):
    def as_role(role):
        force_login_verified(client, users[role])
        return client
    return as_role


def upload(client, content, name="r.csv", kind="referrals", source="Old EHR"):
    return client.post(reverse("imports:upload"), {
        "file": SimpleUploadedFile(name, content if isinstance(content, bytes)
                                   else content.encode()),
        "kind": kind, "source": source, "sheet": ""})


@pytest.mark.parametrize("role,allowed", [("front_desk", False), ("outreach", False),
                                          ("coordinator", True), ("manager", True),
                                          ("admin", True)])
def test_only_coordinators_managers_and_admins_import(client_as, role, allowed):
    response = client_as(role).get(reverse("imports:start"))
    assert response.status_code == (200 if allowed else 403)


def test_upload_map_check_and_import(client_as, location, other_location):
    client = client_as("coordinator")
    response = upload(client, CSV)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == reverse("imports:mapping",
                                                                   args=[job.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    assert b'<option value="Clinic" selected>' in page.content  # suggested: location
    assert b"Okafor" in page.content  # sample values
    response = client.post(reverse("imports:mapping", args=[job.pk]), {
        "map-received": "Received", "map-first_name": "First name",
        "map-last_name": "Last name", "map-location": "Clinic"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.CHECKED and job.rows_error == 1
    assert ImportMapping.objects.get(source="Old EHR").mapping["location"] == "Clinic"
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert b"no location is called &#x27;Nowhere&#x27;" in page.content
    assert b"<script>alert(1)</script>" not in page.content
    csv_file = client.get(reverse("imports:problems_csv", args=[job.pk]))
    assert b"Nowhere" in b"".join(csv_file.streaming_content)
    # All or nothing refuses; good rows imports one.
    client.post(reverse("imports:commit", args=[job.pk]), {"mode": "all"})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and Referral.objects.count() == 0
    job.status = JobStatus.CHECKED
    job.save()
    client.post(reverse("imports:commit", args=[job.pk]), {"mode": "good"})
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and Referral.objects.count() == 1
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert b"1 referrals imported from 2 rows" in page.content


def test_a_file_that_is_not_a_table_is_refused_with_a_message(client_as):
    response = upload(client_as("manager"), bytes(range(256)) * 8, name="x.csv")
    assert response.status_code == 200
    assert b"not text (CSV) nor an Excel workbook" in response.content
    assert not ImportJob.objects.exists()


cell = st.text(alphabet=string.printable + "éü\u00a0\u2019", max_size=12)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=5), max_size=6),
       raw=st.binary(max_size=200))
def test_random_files_never_make_a_server_error_nor_a_half_import(client_as, location,
                                                                  rows, raw):
    client = client_as("manager")
    before = (Referral.objects.count(), Patient.objects.count())
    text = "Received,First name,Last name,MRN,Status\n" + "\n".join(
        ",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows)
    for content in (text.encode(), raw, text.encode() + raw):
        response = upload(client, content)
        assert response.status_code in (200, 302)
        job = ImportJob.objects.order_by("-pk").first()
        if response.status_code != 302 or job is None:
            continue
        response = client.post(reverse("imports:mapping", args=[job.pk]), {
            "map-received": "Received", "map-first_name": "First name",
            "map-last_name": "Last name", "map-mrn": "MRN", "map-status": "Status"})
        assert response.status_code in (200, 302)
        job.refresh_from_db()
        if job.status != JobStatus.CHECKED:
            continue
        assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 200
        client.post(reverse("imports:commit", args=[job.pk]), {"mode": "all"})
        job.refresh_from_db()
        now = (Referral.objects.count(), Patient.objects.count())
        if job.status == JobStatus.FAILED:
            assert now == before  # all or nothing: nothing at all
        else:
            assert job.status == JobStatus.DONE
            assert now[0] - before[0] == job.rows_ok
        before = now
