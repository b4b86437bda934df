"""One patient's whole record as a ZIP, for a patient's request for a copy of their data
(HIPAA right of access, docs/audit.md): demographics and consents, referrals with their
timeline, visits and identifiers, the follow-ups and messages about them, the changes made
to the patient's row, and the audit trail of who accessed the patient.

The ZIP holds record.json (everything, nested) and one CSV per kind of row, for a reader
with a spreadsheet; text cells of the CSVs are neutralized against formula injection.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from refnet.accounts.models import AuditEvent
from refnet.followups.models import FollowUp
from refnet.outbox.models import OutboxMessage
from refnet.reports.exports import neutralize

from .models import Patient, PatientIdentifier, Referral, ReferralEvent, ReferralIdentifier, Visit

README = """Patient record export from refnet
=================================

Patient: {name} (refnet patient id {pk})
Made: {made} by {by}

record.json      everything below in one nested document
patient.csv      demographics and consents
referrals.csv    each referral: who referred, where, status, outcome, reason
events.csv       each referral's timeline (status changes and notes)
visits.csv       visits
followups.csv    follow-up tasks about the patient's referrals
messages.csv     messages (email, letters, text, fax) about the patient's referrals
changes.csv      every saved change to the patient's demographics and consents
access_log.csv   who viewed, searched, changed, printed or exported this patient's data
"""

SKIP = {"last_name_key", "first_name_key", "phone_digits"}


def _row(obj: models.Model, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in SKIP:
            continue
        value = getattr(obj, field.attname)
        out[field.attname] = value
        if field.choices and value:
            out[f"{field.name}_label"] = str(dict(field.flatchoices).get(value, value))
    out.update(extra or {})
    return out


def patient_record(patient: Patient) -> dict[str, Any]:
    # Removed referrals too (their removed_at is set): the export is the whole record.
    referrals = list(Referral.all_objects.filter(patient=patient)
                     .select_related("source_partner", "location", "service_line")
                     .order_by("received_at", "id"))
    ids = [r.pk for r in referrals]
    events = list(ReferralEvent.objects.filter(referral_id__in=ids).order_by("at", "id"))
    visits = list(Visit.objects.filter(referral_id__in=ids).order_by("at", "id"))
    identifiers = list(ReferralIdentifier.objects.filter(referral_id__in=ids))
    followups = list(FollowUp.objects.filter(referral_id__in=ids).order_by("due_at", "id"))
    messages = list(OutboxMessage.objects.filter(referral_id__in=ids).order_by("id"))
    changes = list(patient.history.order_by("history_date", "history_id"))
    access = list(AuditEvent.objects.filter(patient_id=patient.pk).order_by("id"))
    return {
        "patient": _row(patient),
        "patient_identifiers": [_row(i) for i in
                                PatientIdentifier.objects.filter(patient=patient)],
        "referrals": [_row(r, extra={
            "source_partner_name": r.source_partner.name if r.source_partner else "",
            "location_name": str(r.location), "service_line_name": str(r.service_line or ""),
            "events": [_row(e) for e in events if e.referral_id == r.pk],
            "visits": [_row(v) for v in visits if v.referral_id == r.pk],
            "identifiers": [_row(i) for i in identifiers if i.referral_id == r.pk],
        }) for r in referrals],
        "followups": [_row(f) for f in followups],
        "messages": [_row(m, extra={"attachments": [a.get("filename") for a in
                                                    m.attachments or []]})
                     for m in messages],
        "changes": [{"at": h.history_date, "by_user_id": h.history_user_id,
                     "type": {"+": "created", "~": "changed", "-": "deleted"}
                     .get(h.history_type, h.history_type),
                     "reason": h.history_change_reason or "",
                     **{k: v for k, v in _row(h.instance).items()}} for h in changes],
        "access_log": [_row(a, extra={"hash": a.hash}) for a in access],
    }


def _csv(rows: list[dict[str, Any]]) -> str:
    flat = [{k: v for k, v in r.items() if not isinstance(v, list)} for r in rows]
    columns: list[str] = []
    for r in flat:
        columns.extend(k for k in r if k not in columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for r in flat:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return "\ufeff" + out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralize(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def patient_export_zip(*, patient: Patient, by: str) -> bytes:
    record = patient_record(patient)
    referrals = record["referrals"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(
            name=patient, pk=patient.pk, made=timezone.now().isoformat(timespec="seconds"),
            by=by))
        archive.writestr("record.json", json.dumps(record, cls=DjangoJSONEncoder, indent=2,
                                                   ensure_ascii=False))
        archive.writestr("patient.csv", _csv([record["patient"]]))
        archive.writestr("referrals.csv", _csv(referrals))
        archive.writestr("events.csv", _csv([e for r in referrals for e in r["events"]]))
        archive.writestr("visits.csv", _csv([v for r in referrals for v in r["visits"]]))
        archive.writestr("followups.csv", _csv(record["followups"]))
        archive.writestr("messages.csv", _csv(record["messages"]))
        archive.writestr("changes.csv", _csv(record["changes"]))
        archive.writestr("access_log.csv", _csv(record["access_log"]))
    return out.getvalue()
