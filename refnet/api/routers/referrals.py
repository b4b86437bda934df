"""/api/referrals: the pipeline list, one referral, record one, move one along.

What a key sees follows its role, as in the app: referrals need "referrals.view" (outreach
never gets here), the patient's identity "patients.view", reason and diagnosis
"clinical.view". Every read or write of a referral writes the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap
from refnet.partners.models import Contact, Partner
from refnet.practice.models import Location, ServiceLine
from refnet.referrals import selectors, services
from refnet.referrals.models import (
    ArrivalChannel,
    Outcome,
    Patient,
    Referral,
    ReferralStatus,
    SourceStatus,
)

from ..audit import audit_api
from ..auth import allow, key_has
from ..errors import ApiError, django_errors, field_error, not_found
from ..models import ApiKey, ApiResource
from ..pagination import paginate
from ..types import Day, Id, Moment, Text
from .common import ERRORS, PageMeta, PageParams

router = Router(tags=["referrals"])
R = ApiResource.REFERRALS
PATIENT_FIELDS = ("first_name", "last_name", "birth_date", "sex", "phone", "email", "mrn",
                  "address_line", "city", "state", "zip_code")


class PatientOut(Schema):
    id: int
    mrn: str
    first_name: str
    last_name: str
    birth_date: date | None
    sex: str
    phone: str
    email: str
    zip_code: str


class ReferralOut(Schema):
    id: int
    status: ReferralStatus
    received_at: datetime
    status_changed_at: datetime
    channel: ArrivalChannel
    source_status: SourceStatus
    source_partner_id: int | None
    source_partner_name: str | None
    source_contact_id: int | None
    location_id: int
    location_name: str
    service_line_id: int | None
    outcome: str
    priority: str
    allowed_next: list[ReferralStatus]
    removed_at: datetime | None = Field(None, description="Set when the referral was "
                                        "removed as entered by mistake.")
    patient: PatientOut | None = Field(
        None, description="Only for keys whose role may see patient identity.")
    reason: str | None = Field(None, description="Only for keys whose role may see clinical "
                               "data.")
    diagnosis: str | None = None
    source_text: str | None = Field(None, description="What the patient said; with patient "
                                    "identity only.")


class ReferralPage(PageMeta):
    results: list[ReferralOut]


class ReferralFilters(PageParams):
    status: ReferralStatus | None = None
    source_partner: Id | None = None
    location: Id | None = None
    received_from: Day | None = None
    received_to: Day | None = None
    updated_since: Moment | None = Field(None, description="Referrals created or changed "
                                         "(any field) at or after this time.")
    include_removed: bool = Field(False, description="Also list referrals removed as "
                                  "entered by mistake (their removed_at is set); with "
                                  "updated_since, how a copy learns of a removal.")


class NewPatient(Schema):
    first_name: Text(100) = Field(..., min_length=1)
    last_name: Text(100) = Field(..., min_length=1)
    birth_date: Day | None = None
    sex: str = Field("", pattern="^(F|M|X)?$")
    phone: Text(30) = ""
    email: Text(254) = ""
    mrn: Text(30) = ""
    address_line: Text(200) = ""
    city: Text(100) = ""
    state: Text(2) = ""
    zip_code: Text(10) = ""


class ReferralIn(Schema):
    """Name the patient (`patient_id`, or `patient` to add one) and the source
    (`source_partner_id`, or `source_unknown: true` to ask again later)."""

    patient_id: Id | None = None
    patient: NewPatient | None = None
    source_partner_id: Id | None = None
    source_contact_id: Id | None = None
    source_unknown: bool = False
    source_text: Text(200) = ""
    location_id: Id
    service_line_id: Id | None = None
    channel: ArrivalChannel = ArrivalChannel.WEB_FORM
    received_at: Moment | None = None
    reason: Text(5000) = ""
    diagnosis: Text(200) = ""
    priority: str = Field("routine", pattern="^(routine|urgent|stat)$")


class TransitionIn(Schema):
    to_status: ReferralStatus
    expected_status: ReferralStatus | None = Field(
        None, description="The status you last saw; the move is refused (409) if it changed.")
    outcome: Outcome | None = None
    note: Text(500) = ""


def referral_out(r: Referral, key: ApiKey) -> dict:
    out = {
        "id": r.pk, "status": r.status, "received_at": r.received_at,
        "status_changed_at": r.status_changed_at, "channel": r.channel,
        "source_status": r.source_status, "source_partner_id": r.source_partner_id,
        "source_partner_name": r.source_partner.name if r.source_partner_id else None,
        "source_contact_id": r.source_contact_id, "location_id": r.location_id,
        "location_name": r.location.name, "service_line_id": r.service_line_id,
        "outcome": r.outcome, "priority": r.priority,
        "allowed_next": [] if r.removed_at else list(r.allowed_next()),
        "removed_at": r.removed_at,
    }
    if key_has(key, Cap.PATIENTS_VIEW):
        out["patient"] = r.patient
        out["source_text"] = r.source_text
    if key_has(key, Cap.CLINICAL_VIEW):
        out["reason"], out["diagnosis"] = r.reason, r.diagnosis
    return out


def _get(pk: int) -> Referral:
    referral = (Referral.objects.select_related("patient", "source_partner", "location")
                .filter(pk=pk).first())
    if referral is None:
        raise not_found("referral")
    return referral


def _exists(model, pk: int | None, field: str, what: str):
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise field_error(field, f"No {what} with id {pk}.", "not_found")
    return obj


@router.get("/referrals", response={200: ReferralPage, **ERRORS}, summary="List referrals")
def referral_list(request: HttpRequest, filters: Query[ReferralFilters]):
    key = allow(request, R, write=False, cap=Cap.REFERRALS_VIEW)
    if (filters.received_from and filters.received_to
            and filters.received_to < filters.received_from):
        raise field_error("query.received_to", "The end of the period is before its start.")
    location = _exists(Location, filters.location, "query.location", "location")
    rows = selectors.referrals_list(
        status=filters.status or "",
        source_partner_ids=[filters.source_partner] if filters.source_partner else None,
        location=location, received_from=filters.received_from,
        received_to=filters.received_to, removed_too=filters.include_removed,
    )
    if filters.updated_since is not None:
        changed = Referral.history.filter(history_date__gte=filters.updated_since)
        rows = rows.filter(pk__in=changed.values("id"))
    meta, page = paginate(request, rows, limit=filters.limit, offset=filters.offset)
    if key_has(key, Cap.PATIENTS_VIEW):
        audit_api(request=request, key=key, patient_ids=[r.patient_id for r in page],
                  action=AuditAction.QUERY, what="api:referrals:list")
    return {**meta, "results": [referral_out(r, key) for r in page]}


@router.get("/referrals/{referral_id}", response={200: ReferralOut, **ERRORS},
            summary="One referral")
def referral_get(request: HttpRequest, referral_id: Id):
    key = allow(request, R, write=False, cap=Cap.REFERRALS_VIEW)
    referral = _get(referral_id)
    if key_has(key, Cap.PATIENTS_VIEW):
        audit_api(request=request, key=key, patient_ids=[referral.patient_id],
                  action=AuditAction.VIEW, what=f"api:referral:{referral.pk}")
    return referral_out(referral, key)


# Where a service's ValidationError key lands in the request body.
_ERROR_FIELDS = {
    **{f: f"body.patient.{f}" for f in PATIENT_FIELDS},
    "patient": "body.patient_id", "source": "body.source_partner_id",
    "location": "body.location_id", "service_line": "body.service_line_id",
    "source_partner": "body.source_partner_id", "source_contact": "body.source_contact_id",
}


@router.post("/referrals", response={201: ReferralOut, **ERRORS}, summary="Record a referral")
def referral_create(request: HttpRequest, payload: ReferralIn):
    key = allow(request, R, write=True, cap=Cap.INTAKE)
    if (payload.patient_id is None) == (payload.patient is None):
        raise field_error("body.patient_id", "Give either patient_id or a new patient.")
    patient = _exists(Patient, payload.patient_id, "body.patient_id", "patient")
    source = _exists(Partner, payload.source_partner_id, "body.source_partner_id", "partner")
    contact = _exists(Contact, payload.source_contact_id, "body.source_contact_id", "contact")
    location = _exists(Location, payload.location_id, "body.location_id", "location")
    service_line = _exists(ServiceLine, payload.service_line_id, "body.service_line_id",
                           "service line")
    try:
        with transaction.atomic():
            referral = services.referral_record(
                patient=patient,
                new_patient=payload.patient.dict() if payload.patient else None,
                source_partner=source, source_contact=contact,
                source_unknown=payload.source_unknown, source_text=payload.source_text,
                location=location, service_line=service_line, channel=payload.channel,
                received_at=payload.received_at, reason=payload.reason,
                diagnosis=payload.diagnosis, priority=payload.priority, by=None,
            )
            audit_api(request=request, key=key, patient_ids=[referral.patient_id],
                      action=AuditAction.CREATE, what=f"api:referral:{referral.pk}")
    except ValidationError as error:
        errors = django_errors(error, fields=_ERROR_FIELDS)
        raise ApiError(422, "invalid", "; ".join(f"{e['field']}: {e['message']}"
                                                  for e in errors), errors) from None
    return Status(201, referral_out(_get(referral.pk), key))


@router.post("/referrals/{referral_id}/transition", response={200: ReferralOut, **ERRORS},
             summary="Move a referral to its next status")
def referral_transition(request: HttpRequest, referral_id: Id, payload: TransitionIn):
    key = allow(request, R, write=True, cap=Cap.REFERRALS_WORK)
    referral = _get(referral_id)
    try:
        with transaction.atomic():
            services.referral_transition(
                referral=referral, to_status=payload.to_status, by=None, note=payload.note,
                outcome=payload.outcome or "", expected_status=payload.expected_status,
            )
            audit_api(request=request, key=key, patient_ids=[referral.patient_id],
                      action=AuditAction.UPDATE, what=f"api:referral:{referral.pk}:status")
    except services.TransitionError as error:
        raise ApiError(409, "conflict", " ".join(error.messages)) from None
    return referral_out(_get(referral.pk), key)
