"""Referrals that arrive from other systems: FHIR ServiceRequests, HL7 v2 REF^I12 messages,
file imports. Each entry point parses its own format into the plain records below and calls
`referral_receive`, which matches (or creates) the referring provider and the patient and
records the referral once, however often the same message is delivered.

Matching, in order (the FHIR and HL7 issues ask for the same):
- provider: by NPI; else by name and address (same folded name, and the same ZIP or street
  line); else a new clinician partner, stage "active" since they just referred;
- patient: by an identifier another system gave them (PatientIdentifier); else by name and
  birth date; else a new patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from refnet.accounts.models import User
from refnet.partners.models import CLINICAL_KINDS, Partner, PartnerKind
from refnet.partners.search import fold
from refnet.partners.selectors import partner_survivor
from refnet.partners.services import partner_create
from refnet.practice.models import Location, ServiceLine

from .models import (
    ArrivalChannel,
    Patient,
    PatientIdentifier,
    Referral,
    ReferralIdentifier,
)
from .services import patient_create, referral_record

PRIORITIES = ("routine", "urgent", "stat")


@dataclass
class ProviderIn:
    """The referring clinician or practice as the message names them."""

    npi: str = ""
    name: str = ""  # "Dana Whitfield, MD" or an organization's name
    is_organization: bool = False
    taxonomy_code: str = ""
    phone: str = ""
    fax: str = ""
    email: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""


@dataclass
class PatientIn:
    first_name: str
    last_name: str
    birth_date: date | None = None
    sex: str = ""  # F, M or X
    identifiers: list[tuple[str, str]] = field(default_factory=list)  # (system, value)
    phone: str = ""
    email: str = ""
    address_line: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""


@dataclass
class Received:
    referral: Referral
    created: bool  # False: this (system, id) was delivered before; nothing was written
    provider_match: str = ""  # "npi", "name_address", "created" or "" (no provider given)
    patient_match: str = ""  # "identifier", "name_birth_date" or "created"


def _zip5(value: str) -> str:
    return (value or "").strip()[:5]


def provider_match_or_create(provider: ProviderIn, *, by: User | None) -> tuple[Partner, str]:
    """The partner this provider is, and how it was found ("npi", "name_address",
    "created"). Merged partners resolve to the one they were merged into."""
    npi = (provider.npi or "").strip()
    if npi:
        found = Partner.objects.filter(npi=npi, kind__in=CLINICAL_KINDS).order_by("id").first()
        if found is not None:
            return partner_survivor(found), "npi"
    name = fold(provider.name)
    if not name:
        raise ValidationError({"requester": "The referring provider has no NPI and no name."})
    zip5, street = _zip5(provider.zip_code), fold(provider.address_line)
    if zip5 or street:
        candidates = Partner.objects.live().filter(kind__in=CLINICAL_KINDS)
        if zip5:
            candidates = candidates.filter(zip_code__startswith=zip5)
        for partner in candidates.only("id", "name", "address_line", "zip_code")[:500]:
            if fold(partner.name) == name and (
                (zip5 and _zip5(partner.zip_code) == zip5)
                or (street and fold(partner.address_line) == street)
            ):
                return Partner.objects.get(pk=partner.pk), "name_address"
    kind = PartnerKind.MEDICAL_PRACTICE if provider.is_organization else PartnerKind.CLINICIAN
    partner = partner_create(
        by=by, kind=kind, name=provider.name.strip()[:200], npi=npi,
        taxonomy_code=provider.taxonomy_code.strip(), phone=provider.phone.strip()[:30],
        fax=provider.fax.strip()[:30], email=provider.email.strip(),
        address_line=provider.address_line.strip()[:200], city=provider.city.strip()[:100],
        state=provider.state.strip()[:2].upper(), zip_code=provider.zip_code.strip()[:10],
        stage="active",
    )
    return partner, "created"


def patient_match_or_create(patient: PatientIn, *, by: User | None) -> tuple[Patient, str]:
    """The patient, and how they were found ("identifier", "name_birth_date", "created").
    Identifiers not yet known are attached to the patient found or made."""
    pairs = [(s.strip(), v.strip()) for s, v in patient.identifiers if s and v and v.strip()]
    found, how = None, "created"
    for system, value in pairs:
        row = PatientIdentifier.objects.filter(system=system, value=value).first()
        if row is not None:
            found, how = row.patient, "identifier"
            break
    if found is None and patient.birth_date is not None:
        found = (Patient.objects.filter(
            last_name_key=fold(patient.last_name), first_name_key=fold(patient.first_name),
            birth_date=patient.birth_date).order_by("id").first())
        how = "name_birth_date" if found is not None else how
    if found is None:
        if not patient.first_name.strip() or not patient.last_name.strip():
            raise ValidationError({"patient": "The patient's first and last name are required."})
        found = patient_create(
            by=by, first_name=patient.first_name.strip()[:100],
            last_name=patient.last_name.strip()[:100], birth_date=patient.birth_date,
            sex=patient.sex if patient.sex in ("F", "M", "X") else "",
            phone=patient.phone.strip()[:30], email=patient.email.strip(),
            address_line=patient.address_line.strip()[:200], city=patient.city.strip()[:100],
            state=patient.state.strip()[:2].upper(), zip_code=patient.zip_code.strip()[:10],
        )
    for system, value in pairs:
        PatientIdentifier.objects.get_or_create(
            system=system[:200], value=value[:200], defaults={"patient": found})
    return found, how


def referral_received_before(*, system: str, external_id: str) -> Referral | None:
    row = (ReferralIdentifier.objects.select_related("referral")
           .filter(system=system, value=external_id).first())
    return row.referral if row is not None else None


def referral_receive(
    *,
    system: str,
    external_id: str,
    patient: PatientIn,
    requester: ProviderIn | None,
    channel: str,
    location: Location | None = None,
    service_line: ServiceLine | None = None,
    reason: str = "",
    diagnosis: str = "",
    priority: str = "routine",
    received_at: datetime | None = None,
    by: User | None = None,
) -> Received:
    """Record a referral from another system, once per (system, external_id).

    All or nothing: the provider, the patient, the referral and its identifier are written
    in one transaction. A repeat delivery (same system and id) returns the first referral
    with created=False and writes nothing, even when two deliveries race.
    """
    system, external_id = (system or "").strip(), (external_id or "").strip()
    if not system or not external_id:
        raise ValidationError({"identifier": "A referral from another system needs that "
                                             "system's id for it (system and value)."})
    if channel not in ArrivalChannel.values:
        raise ValidationError({"channel": f"Unknown arrival channel {channel!r}."})
    if priority not in PRIORITIES:
        raise ValidationError({"priority": f"Priority must be one of {', '.join(PRIORITIES)}."})
    earlier = referral_received_before(system=system, external_id=external_id)
    if earlier is not None:
        return Received(earlier, False)
    if location is None:
        location = Location.objects.order_by("id").first()
        if location is None:
            raise ValidationError({"location": "The practice has no location to refer to."})
    try:
        with transaction.atomic():
            provider, provider_how = (None, "")
            if requester is not None:
                provider, provider_how = provider_match_or_create(requester, by=by)
            person, patient_how = patient_match_or_create(patient, by=by)
            referral = referral_record(
                patient=person, source_partner=provider, source_unknown=provider is None,
                location=location, service_line=service_line, channel=channel,
                received_at=received_at, reason=reason, diagnosis=diagnosis[:200],
                priority=priority, by=by,
            )
            ReferralIdentifier.objects.create(referral=referral, system=system[:200],
                                              value=external_id[:200])
    except IntegrityError:
        # Another delivery of the same message won the race: its referral is the one.
        earlier = referral_received_before(system=system, external_id=external_id)
        if earlier is None:
            raise
        return Received(earlier, False)
    return Received(referral, True, provider_how, patient_how)
