"""Receiving a FHIR ServiceRequest: look up what it names, then the shared inbound path
(referrals.inbound.referral_receive) records it, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import ValidationError
from django.db import transaction

from refnet.practice.models import Location, ServiceLine
from refnet.referrals.inbound import PatientIn, referral_receive, referral_received_before
from refnet.referrals.models import Patient, PatientIdentifier, Referral, ReferralIdentifier

from .mapping import (
    PATIENT_SYSTEM,
    REFERRAL_SYSTEM,
    ReferralIn,
    is_db_id,
    parse_service_request,
    referral_in_from,
)
from .outcome import FhirError, Issue


@dataclass
class Posted:
    referral: Referral
    created: bool  # False: this referral was delivered before; nothing was written
    provider_match: str = ""
    patient_match: str = ""


# Where a refusal from referral_receive (keyed by field) is in the ServiceRequest.
_FIELD_PATHS = {
    "requester": "ServiceRequest.requester",
    "patient": "ServiceRequest.subject",
    "identifier": "ServiceRequest.identifier",
    "location": "ServiceRequest.locationReference",
    "priority": "ServiceRequest.priority",
    "diagnosis": "ServiceRequest.reasonCode",
    "reason": "ServiceRequest.note",
    "received_at": "ServiceRequest.authoredOn",
}


def _issues_from(error: ValidationError) -> list[Issue]:
    if hasattr(error, "error_dict"):
        return [Issue(f"{name}: {message}" if name not in _FIELD_PATHS else message,
                      _FIELD_PATHS.get(name, "ServiceRequest"), "business-rule")
                for name, messages in error.message_dict.items() for message in messages]
    return [Issue(message, "ServiceRequest", "business-rule") for message in error.messages]


def conditional_match(header: str) -> Referral | None:
    """The referral an If-None-Exist header (`identifier=system|value`) names, or None.
    400 for other criteria, 412 when the criteria match more than one."""
    pairs = parse_qsl(header.strip(), keep_blank_values=True)
    if not pairs or any(name != "identifier" for name, _ in pairs):
        raise FhirError(400, [Issue("If-None-Exist supports only identifier=system|value.",
                                    code="not-supported")])
    found: set[int] = set()
    for _, token in pairs:
        system, bar, value = token.partition("|")
        if not bar:
            system, value = "", token
        if not value:
            raise FhirError(400, [Issue("If-None-Exist: identifier needs a value.")])
        if system == REFERRAL_SYSTEM:
            if is_db_id(value):
                found |= set(Referral.all_objects.filter(pk=int(value))
                             .values_list("pk", flat=True))
            continue
        rows = ReferralIdentifier.objects.filter(value=value)
        if bar:
            rows = rows.filter(system=system)
        found |= set(rows.values_list("referral_id", flat=True))
    if len(found) > 1:
        raise FhirError(412, [Issue("If-None-Exist matches more than one referral.",
                                    code="duplicate")])
    # A removed referral still answers its repeats: a resend must not make it again.
    return Referral.all_objects.get(pk=found.pop()) if found else None


def _service_line(incoming: ReferralIn) -> ServiceLine | None:
    lines = ServiceLine.objects.filter(is_active=True)
    if incoming.service_line_id is not None:
        found = lines.filter(pk=incoming.service_line_id).first()
        if found is not None:
            return found
    for name in incoming.service_names:
        found = lines.filter(name__iexact=name).order_by("id").first()
        if found is not None:
            return found
    return None


def _location(incoming: ReferralIn) -> Location | None:
    places = Location.objects.filter(is_active=True)
    if incoming.location_id is not None:
        return places.filter(pk=incoming.location_id).first()
    if incoming.location_name:
        return places.filter(name__iexact=incoming.location_name).order_by("id").first()
    return None


def service_request_receive(*, data: Any, if_none_exist: str | None = None) -> Posted:
    """Record the referral a ServiceRequest (parsed JSON) describes, once.

    1. Check structure and codes (400/422 listing every problem, nothing written).
    2. A repeat is recognised, and answered with the first referral: by If-None-Exist, by
       our own referral id sent back, or by any of the sender's identifiers.
    3. Service line and location are matched by our id or by name; a requested service we
       do not recognise is kept in the reason text (the referral is not refused for it).
    4. The patient named by Patient/<id> (or our patient id on a contained Patient) is
       matched through a PatientIdentifier of our own system, in the same transaction.
    5. referral_receive matches the requester and the patient and records the referral;
       the sender's other identifiers are added to it.
    """
    incoming = referral_in_from(parse_service_request(data))
    if if_none_exist:
        existing = conditional_match(if_none_exist)
        if existing is not None:
            return Posted(existing, False)
    if incoming.own_referral_id is not None:
        existing = Referral.all_objects.filter(pk=incoming.own_referral_id).first()
        if existing is not None:
            return Posted(existing, False)
        if not incoming.identifiers:
            raise FhirError(422, [Issue(f"No referral {incoming.own_referral_id} here.",
                                        "ServiceRequest.identifier", "not-found")])
    for system, value in incoming.identifiers:
        existing = referral_received_before(system=system, external_id=value)
        if existing is not None:
            return Posted(existing, False)

    service_line = _service_line(incoming)
    reason = incoming.reason
    if service_line is None and incoming.service_text:
        reason = f"Service requested: {incoming.service_text}" + (f"\n\n{reason}" if reason
                                                                   else "")
    try:
        with transaction.atomic():
            patient_in = incoming.patient
            if incoming.patient_id is not None:
                known = Patient.objects.filter(pk=incoming.patient_id).first()
                if known is None:
                    raise FhirError(422, [Issue(f"No patient {incoming.patient_id} here.",
                                                "ServiceRequest.subject", "not-found")])
                own = (PATIENT_SYSTEM, str(known.pk))
                PatientIdentifier.objects.get_or_create(system=own[0], value=own[1],
                                                        defaults={"patient": known})
                if patient_in is None:
                    patient_in = PatientIn(known.first_name, known.last_name,
                                           known.birth_date, identifiers=[own])
                else:
                    patient_in.identifiers.insert(0, own)
            system, value = incoming.identifiers[0]
            received = referral_receive(
                system=system, external_id=value, patient=patient_in,
                requester=incoming.requester, channel="fhir", location=_location(incoming),
                service_line=service_line, reason=reason, diagnosis=incoming.diagnosis,
                priority=incoming.priority, received_at=incoming.received_at, by=None,
            )
            if received.created:
                for other_system, other_value in incoming.identifiers[1:]:
                    if not ReferralIdentifier.objects.filter(system=other_system,
                                                             value=other_value).exists():
                        ReferralIdentifier.objects.create(
                            referral=received.referral, system=other_system, value=other_value)
    except ValidationError as error:
        raise FhirError(422, _issues_from(error)) from None
    return Posted(received.referral, received.created, received.provider_match,
                  received.patient_match)
