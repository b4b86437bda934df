"""Receiving REF^I12 (both entry points call hl7_receive) and queueing RRI^I12 replies."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from refnet.accounts.audit import audit_append_values
from refnet.accounts.models import AuditAction
from refnet.partners.search import fold
from refnet.practice.models import Location, ServiceLine
from refnet.referrals.inbound import referral_receive
from refnet.referrals.models import ArrivalChannel, Referral, ReferralEvent, ReferralStatus

from .er7 import Header, Hl7Error, decode, normalize, read_header
from .mapping import RefIn, ReplyFacts, ack_build, parse_ref_i12, rri_build
from .models import HL7Message, HL7Outgoing, HL7Subscriber

log = logging.getLogger("refnet.hl7")
MAX_MESSAGE_BYTES = 1024 * 1024

# Where a refusal from the shared inbound path (keyed by field) is in the message.
_FIELD_PLACES = {
    "requester": ("PRD", 2), "npi": ("PRD", 7), "taxonomy_code": ("PRD", 7),
    "fax": ("PRD", 5), "name": ("PRD", 2),
    "patient": ("PID", 5), "first_name": ("PID", 5), "last_name": ("PID", 5),
    "birth_date": ("PID", 7), "sex": ("PID", 8), "email": ("PID", 13), "phone": ("PID", 13),
    "address_line": ("PID", 11), "city": ("PID", 11), "state": ("PID", 11),
    "zip_code": ("PID", 11), "identifier": ("RF1", 6), "priority": ("RF1", 2),
    "diagnosis": ("DG1", 3), "reason": ("RF1", 10), "location": ("PRD", 2),
}


@dataclass
class Handled:
    ack: str
    code: str  # AA, AE or AR
    message: HL7Message | None
    referral: Referral | None = None
    created: bool = False


def new_control_id() -> str:
    return uuid.uuid4().hex[:20]


def _error_from(exc: ValidationError) -> Hl7Error:
    pairs = exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]
    key, messages = next(iter(pairs))
    segment, position = _FIELD_PLACES.get(key, ("", None))
    where = f"{segment}-{position}: " if segment else ""
    code = "101" if key in ("requester", "patient", "identifier", "location") else "102"
    return Hl7Error(f"{where}{' '.join(messages)}"[:400], segment, 1, position, code, "AE")


def location_for(ref: RefIn) -> Location | None:
    """Our location the referred-to PRD (role RT) names: same name (PRD-2, folded), or same
    street or ZIP and city (PRD-3). None means the practice's first location (not an error)."""
    if ref.referred_to is None:
        return None
    wanted = fold(ref.referred_to.name)
    street, zip5 = fold(ref.referred_to.address_line), ref.referred_to.zip_code[:5]
    locations = list(Location.objects.filter(is_active=True).order_by("id"))
    for location in locations:
        if wanted and fold(location.name) == wanted:
            return location
    for location in locations:
        if street and fold(location.address_line) == street and (
                not zip5 or location.zip_code[:5] == zip5):
            return location
    return None


def service_line_for(ref: RefIn) -> ServiceLine | None:
    """The service line RF1-3 (referral type) names, by its code or text, if any."""
    names = {fold(v) for v in ref.service_type if v}
    if not names:
        return None
    for line in ServiceLine.objects.filter(is_active=True).order_by("id"):
        if fold(line.name) in names:
            return line
    return None


def _record(ref: RefIn, *, channel: str, actor: str, address: str | None, now: datetime,
            path: str, raw: str = "") -> tuple[HL7Message, Referral, bool]:
    header = ref.header
    with transaction.atomic():
        received = referral_receive(
            system=f"hl7v2:{header.sender}", external_id=ref.external_id,
            patient=ref.patient, requester=ref.requester, channel=ArrivalChannel.HL7V2,
            location=location_for(ref), service_line=service_line_for(ref),
            reason=ref.reason, diagnosis=ref.diagnosis, priority=ref.priority, by=None)
        message = _log(header, channel=channel, actor=actor, address=address, now=now,
                       code="AA", referral=received.referral, duplicate=not received.created,
                       external_id=ref.external_id, external_namespace=ref.external_namespace,
                       patient_identifiers=ref.patient_identifiers, raw=raw)
        if received.created:
            audit_append_values([(
                None, None, actor[:150], received.referral.patient_id, AuditAction.CREATE,
                f"hl7:REF^I12 referral:{received.referral.pk}", address, path[:300])])
    return message, received.referral, received.created


def _log(header: Header | None, *, channel: str, actor: str, address: str | None,
         now: datetime, code: str, error: str = "", **extra) -> HL7Message:
    header = header or Header()
    return HL7Message.objects.create(
        received_at=now, channel=channel, actor=actor[:150], address=address,
        sending_application=header.sending_application[:180],
        sending_facility=header.sending_facility[:180], control_id=header.control_id[:199],
        message_type=f"{header.message_type}^{header.trigger}".strip("^")[:20],
        version=header.version[:10], accept_ack=header.accept_ack[:2],
        application_ack=header.application_ack[:2], ack_code=code, error=error[:500], **extra)


def hl7_receive(raw: bytes | str, *, channel: str, actor: str, address: str | None = None,
                path: str = "", truncated: bool = False) -> Handled:
    """Parse, check and record one REF^I12; always returns the ACK to send back.

    AA: the referral was recorded (or had been: a repeat delivery of the same referral id
    writes nothing new). AR: the envelope is refused (MSH, type, version, processing id,
    unparseable). AE: the content is wrong; the ERR segment names the segment and field.
    Nothing of the referral is written unless it is AA; every delivery gets an HL7Message row.
    """
    now = timezone.now()
    control_id = new_control_id()
    header: Header | None = None
    error: Hl7Error | None = None
    if truncated or len(raw) > MAX_MESSAGE_BYTES:
        error = Hl7Error(f"The message is larger than {MAX_MESSAGE_BYTES} bytes.", "MSH", 1,
                         None, "207", "AR")
        raw = raw[:4096]
    text = normalize(decode(raw) if isinstance(raw, bytes) else raw)
    if "\x00" in text:  # never valid in HL7 text, and PostgreSQL cannot store it
        text = text.replace("\x00", "")
        error = error or Hl7Error("The message contains NUL bytes; HL7 text cannot.", "MSH", 1,
                                  None, "102", "AR")
    try:
        header = read_header(text)
    except Hl7Error as exc:
        error = error or exc
    if error is None:
        try:
            ref = parse_ref_i12(text)
            message, referral, created = _record(ref, channel=channel, actor=actor,
                                                 address=address, now=now, path=path,
                                                 raw=text)
            ack = ack_build(header, "AA", None, now=now, control_id=control_id)
            HL7Message.objects.filter(pk=message.pk).update(ack=ack)
            return Handled(ack, "AA", message, referral, created)
        except Hl7Error as exc:
            error = exc
        except ValidationError as exc:
            error = _error_from(exc)
        except Exception:
            log.exception("HL7 message %s from %s could not be recorded",
                          header.control_id if header else "?", actor)
            error = Hl7Error("The message could not be recorded because of an internal error; "
                             "send it again later.", "", 1, None, "207", "AE")
    message = None
    ack = ack_build(header, error.ack, error, now=now, control_id=control_id)
    try:
        with transaction.atomic():
            message = _log(header, channel=channel, actor=actor, address=address, now=now,
                           code=error.ack, error=error.message, raw=text[:MAX_MESSAGE_BYTES],
                           ack=ack)
    except Exception:
        log.exception("could not log a refused HL7 message")
    return Handled(ack, error.ack, message)


# --- Replies -------------------------------------------------------------------------------

def subscriber_for(message: HL7Message) -> HL7Subscriber | None:
    """The enabled subscription for the message's sender: exact facility first, then the
    application's catch-all (blank facility)."""
    rows = HL7Subscriber.objects.filter(sending_application=message.sending_application,
                                        sending_facility__in=[message.sending_facility, ""])
    found = sorted(rows, key=lambda s: s.sending_facility == "")
    return found[0] if found else None


def reply_facts(event: ReferralEvent, message: HL7Message) -> ReplyFacts:
    referral = event.referral
    partner, location, patient = referral.source_partner, referral.location, referral.patient
    return ReplyFacts(
        sender_application=message.sending_application,
        sender_facility=message.sending_facility, version=message.version,
        original_control_id=message.control_id, external_id=message.external_id,
        external_namespace=message.external_namespace, referral_id=referral.pk,
        status=event.to_status, status_label=str(ReferralStatus(event.to_status).label),
        outcome=referral.outcome, priority=referral.priority, changed_at=event.at,
        provider_name=partner.name if partner else "",
        provider_npi=partner.npi if partner else "",
        provider_address=(partner.address_line, partner.city, partner.state,
                          partner.zip_code) if partner else ("", "", "", ""),
        provider_phone=partner.phone if partner else "",
        location_name=location.name,
        location_address=(location.address_line, location.city, location.state,
                          location.zip_code),
        location_phone=location.phone,
        patient_identifiers=message.patient_identifiers or [],
        patient_family=patient.last_name, patient_given=patient.first_name,
        patient_birth_date=patient.birth_date, patient_sex=patient.sex,
    )


def reply_queue(*, event: ReferralEvent, now: datetime) -> HL7Outgoing | None:
    """Queue the RRI^I12 for a status change, once per event, if the system that sent the
    referral subscribes to replies (and did not say MSH-16 = NE on the original)."""
    if not event.to_status or not event.from_status:
        return None  # not a status change (the first "received" was answered by the ACK)
    message = (HL7Message.objects.filter(referral_id=event.referral_id, ack_code="AA")
               .order_by("id").first())
    if message is None or message.application_ack == "NE":
        return None
    subscriber = subscriber_for(message)
    if subscriber is None or not subscriber.replies:
        return None
    control_id = f"RRI{event.pk}"[:20]
    text = rri_build(reply_facts(event, message), now=now, control_id=control_id)
    outgoing, _created = HL7Outgoing.objects.get_or_create(event=event, defaults={
        "referral_id": event.referral_id, "subscriber": subscriber, "control_id": control_id,
        "message": text, "host": subscriber.host, "port": subscriber.port,
        "next_attempt_at": now})
    return outgoing


# --- Subscribers (Integrations > HL7 subscribers) --------------------------------------------

def subscriber_save(form) -> HL7Subscriber:
    """Create or change a subscriber from a valid SubscriberForm."""
    with transaction.atomic():
        return form.save()


def subscriber_set_enabled(subscriber: HL7Subscriber, enabled: bool) -> HL7Subscriber:
    """Turn a subscriber's replies off (or back on). Replies already queued still go;
    nothing new is queued for a disabled subscriber (reply_queue needs `replies`)."""
    subscriber.enabled = enabled
    subscriber.save(update_fields=["enabled"])
    return subscriber
