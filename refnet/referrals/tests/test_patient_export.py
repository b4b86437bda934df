"""A patient's whole record as a ZIP on request (right of access): demographics, consents,
referrals with their timeline, follow-ups, messages, and who accessed the patient; the
export is itself on the audit trail."""

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.referrals.models import ReferralStatus
from refnet.referrals.services import referral_transition


@pytest.fixture
def patient_with_history(make_patient, make_referral, users):
    patient = make_patient("Ada", "=Synthetic", phone="303-555-0199", sms_consent=True)
    referral = make_referral(patient=patient, reason="Knee pain after a fall")
    referral_transition(referral=referral, to_status=ReferralStatus.CONTACTED,
                        by=users["coordinator"], note="Left a voicemail")
    return patient, referral


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "outreach"])
def test_roles_without_the_capability_cannot_export(login, patient_with_history, role):
    patient, _ = patient_with_history
    response = login(role).post(reverse("referrals:patient_export", args=[patient.pk]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.django_db
def test_the_zip_holds_the_whole_record_and_who_accessed_it(login, patient_with_history):
    patient, referral = patient_with_history
    client = login("coordinator")
    page = client.get(reverse("referrals:patient_detail", args=[patient.pk]))
    assert b"Export this patient" in page.content
    response = client.post(reverse("referrals:patient_export", args=[patient.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert {"README.txt", "record.json", "patient.csv", "referrals.csv", "events.csv",
            "followups.csv", "messages.csv", "changes.csv", "access_log.csv"} <= set(
        archive.namelist())
    record = json.loads(archive.read("record.json"))
    assert record["patient"]["phone"] == "303-555-0199"
    assert record["patient"]["sms_consent"] is True
    [exported] = record["referrals"]
    assert exported["id"] == referral.pk and exported["reason"] == "Knee pain after a fall"
    assert [e["to_status"] for e in exported["events"]][-1] == "contacted"
    assert "Left a voicemail" in [e["note"] for e in exported["events"]]
    assert record["changes"][0]["type"] == "created"
    # The page view and this export itself are in the access log.
    actions = [(a["username"], a["action"]) for a in record["access_log"]]
    assert ("cora", "view") in actions and ("cora", "export") in actions
    patient_csv = list(csv.DictReader(io.StringIO(archive.read("patient.csv")
                                                  .decode("utf-8-sig"))))
    assert patient_csv[0]["last_name"] == "'=Synthetic"  # no formula in a spreadsheet
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, patient_id=patient.pk,
                                     username="cora").count() == 1


@pytest.mark.django_db
def test_exporting_needs_a_post(login, patient_with_history):
    patient, _ = patient_with_history
    response = login("manager").get(reverse("referrals:patient_export", args=[patient.pk]))
    assert response.status_code == 405
