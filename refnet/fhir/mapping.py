"""FHIR R4 ServiceRequest and Task <-> referrals: pure mapping, golden-tested both ways.

Inbound: `parse_service_request` checks the JSON's structure (fhir.resources), then
`referral_in_from` reads it into a `ReferralIn` and checks the codes the library does not
(status, intent, priority, gender, telecom system, ICD-10-CM, NPI), collecting every problem
with the element's path. Nothing here touches the database; services.py resolves the ids.

Outbound: `referral_to_service_request` and `referral_to_task` build plain JSON dicts from a
referral (see docs/fhir.md for the tables).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError as PydanticError

from refnet.partners.models import PartnerKind, validate_npi, validate_taxonomy
from refnet.referrals.inbound import PatientIn, ProviderIn

from .outcome import FhirError, Issue, pydantic_issues

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
BSER_SYSTEM = "http://hl7.org/fhir/us/bser/CodeSystem/TaskBusinessStatusCS"
# Ids refnet itself gives; a resource sent back to us with one of these is recognised.
REFERRAL_SYSTEM = "urn:refnet:referral"
PATIENT_SYSTEM = "urn:refnet:patient"
MRN_SYSTEM = "urn:refnet:mrn"
PARTNER_SYSTEM = "urn:refnet:partner"
SERVICE_LINE_SYSTEM = "urn:refnet:service-line"
LOCATION_SYSTEM = "urn:refnet:location"
OWN_SYSTEMS = frozenset({REFERRAL_SYSTEM, PATIENT_SYSTEM, MRN_SYSTEM, PARTNER_SYSTEM,
                         SERVICE_LINE_SYSTEM, LOCATION_SYSTEM})

# Value sets (FHIR R4) of the coded elements read here.
SR_STATUSES = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error",
               "unknown")
SR_INTENTS = ("proposal", "plan", "directive", "order", "original-order", "reflex-order",
              "filler-order", "instance-order", "option")
SR_PRIORITIES = ("routine", "urgent", "asap", "stat")
GENDERS = {"female": "F", "male": "M", "other": "X", "unknown": ""}
TELECOM_SYSTEMS = ("phone", "fax", "email", "pager", "url", "sms", "other")
NAME_USES = ("usual", "official", "temp", "nickname", "anonymous", "old", "maiden")
# ICD-10-CM: a letter, a digit, a digit or letter, then optionally a dot and 1-4 more
# (M54.5, S72.001A, C7A.010). The dot is optional as senders often drop it.
ICD10_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
CONTAINED_TYPES = ("Patient", "Practitioner", "PractitionerRole", "Organization")
MAX_ID = 200  # ReferralIdentifier / PatientIdentifier columns
_DB_ID = re.compile(r"^[0-9]{1,9}$")

# Referral status -> ServiceRequest.status. A removed referral (entered by mistake) is
# "entered-in-error" whatever its status, and its Task too (service_request_status).
SR_STATUS_OF = {"received": "active", "contacted": "active", "scheduled": "active",
                "seen": "active", "closed_won": "completed", "closed_lost": "revoked"}
ENTERED_IN_ERROR = "entered-in-error"


def service_request_status(referral) -> str:
    return ENTERED_IN_ERROR if referral.removed_at is not None else SR_STATUS_OF[
        referral.status]
# Referral status -> Task.status and BSeR businessStatus (closed_lost depends on outcome).
BSER = {
    "2.0": "Service Request Created",
    "3.0": "Service Request Accepted",
    "4.0": "Service Request Declined",
    "5.1.1": "Service Request Event Scheduled",
    "5.1.2": "Scheduled Service Request Event Unattended",
    "5.1.4": "Service Request Event Completed",
    "7.0": "Service Request Fulfillment Completed",
}
TASK_STATUS_OF = {
    "received": ("requested", "2.0"),
    "contacted": ("accepted", "3.0"),
    "scheduled": ("in-progress", "5.1.1"),
    "seen": ("in-progress", "5.1.4"),
    "closed_won": ("completed", "7.0"),
    "closed_lost": ("rejected", "4.0"),
}
NO_SHOW_TASK = ("failed", "5.1.2")
TASK_STATUSES = ("draft", "requested", "received", "accepted", "rejected", "ready",
                 "cancelled", "in-progress", "on-hold", "failed", "completed",
                 "entered-in-error")


def is_db_id(value: str) -> bool:
    return bool(_DB_ID.match(value or ""))


# ---------------------------------------------------------------------------- inbound


@dataclass
class ReferralIn:
    """What a ServiceRequest says, before ids are looked up."""

    identifiers: list[tuple[str, str]]  # the sender's, (system, value)
    own_referral_id: int | None  # identifier urn:refnet:referral|<id>: our own, sent back
    patient: PatientIn | None
    patient_id: int | None  # subject Patient/<id>, or a contained Patient with our id
    requester: ProviderIn | None
    priority: str = "routine"
    reason: str = ""
    diagnosis: str = ""
    service_line_id: int | None = None
    service_names: list[str] = field(default_factory=list)  # what to match ServiceLine on
    service_text: str = ""
    location_id: int | None = None
    location_name: str = ""
    received_at: datetime | None = None


def _walk_strings(value: Any, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_strings(item, f"{path}[{i}]")


def parse_json(body: bytes) -> Any:
    """The request body as JSON, or a 400 saying why not."""
    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(body.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError:
        raise FhirError(400, [Issue("The body is not UTF-8 text.")]) from None
    except (ValueError, RecursionError) as error:
        raise FhirError(400, [Issue(f"The body is not valid JSON: {error}"[:300])]) from None


def parse_service_request(data: Any) -> ServiceRequest:
    """The structural checks: a JSON object, resourceType ServiceRequest, contained
    resources of the kinds we read, and the FHIR R4 model (fhir.resources)."""
    root = "ServiceRequest"
    if not isinstance(data, dict):
        raise FhirError(400, [Issue("The body must be a JSON object (a FHIR resource).")])
    if data.get("resourceType") != "ServiceRequest":
        raise FhirError(400, [Issue(
            f"Expected resourceType \"ServiceRequest\", got {data.get('resourceType')!r:.60}.",
            f"{root}.resourceType")])
    issues = [Issue("Text must not contain NUL characters.", path)
              for path, text in _walk_strings(data, root) if "\x00" in text]
    contained = data.get("contained", [])
    if not isinstance(contained, list):
        issues.append(Issue("contained must be a list of resources.", f"{root}.contained"))
        contained = []
    for i, item in enumerate(contained):
        where = f"{root}.contained[{i}]"
        if not isinstance(item, dict) or item.get("resourceType") not in CONTAINED_TYPES:
            kind = item.get("resourceType") if isinstance(item, dict) else None
            issues.append(Issue(
                f"Contained resources may be {', '.join(CONTAINED_TYPES)}; got {kind!r:.60}.",
                f"{where}.resourceType", code="not-supported"))
        elif "contained" in item:
            issues.append(Issue("A contained resource cannot contain others.",
                                f"{where}.contained"))
    if issues:
        raise FhirError(400, issues)
    try:
        return ServiceRequest.model_validate(data)
    except PydanticError as error:
        raise FhirError(400, pydantic_issues(root, error.errors())) from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
        # fhir.resources raises these for some malformed input it does not anticipate.
        raise FhirError(400, [Issue(f"Not a valid FHIR R4 ServiceRequest: {error}"[:300],
                                    root)]) from None


class _Reader:
    """Reads a validated ServiceRequest, collecting every problem before refusing."""

    def __init__(self, sr: ServiceRequest, now: datetime):
        self.sr, self.now = sr, now
        self.issues: list[Issue] = []
        self.contained = {}
        for i, res in enumerate(sr.contained or []):
            if getattr(res, "id", None):
                self.contained[res.id] = (i, res)

    def fail(self, message: str, where: str, code: str = "invalid") -> None:
        self.issues.append(Issue(message, where, code))

    def code(self, value: str | None, allowed, where: str) -> None:
        if value is not None and value not in allowed:
            self.fail(f"Unknown code {value!r:.60}; expected one of {', '.join(allowed)}.",
                      where, "code-invalid")

    def resolve(self, ref, where: str, kinds: tuple[str, ...]):
        """A '#id' reference to a contained resource of one of `kinds`: (resource, path)."""
        target = (ref.reference or "") if ref is not None else ""
        if not target.startswith("#") or target[1:] not in self.contained:
            self.fail(f"Expected a reference to a contained {' or '.join(kinds)} "
                      f"(\"#id\"), got {target!r:.60}.", f"{where}.reference", "not-found")
            return None, ""
        index, res = self.contained[target[1:]]
        if res.get_resource_type() not in kinds:
            self.fail(f"{target} is a {res.get_resource_type()}; expected "
                      f"{' or '.join(kinds)}.", f"{where}.reference", "invalid")
            return None, ""
        return res, f"ServiceRequest.contained[{index}]"

    # -- pieces

    def identifiers(self, rows, where: str) -> list[tuple[str, str]]:
        out = []
        for i, ident in enumerate(rows or []):
            system, value = (ident.system or "").strip(), (ident.value or "").strip()
            if not system or not value:
                continue
            if len(system) > MAX_ID or len(value) > MAX_ID:
                self.fail(f"Identifier system and value are limited to {MAX_ID} characters.",
                          f"{where}[{i}]", "too-long")
                continue
            out.append((system, value))
        return out

    def telecom(self, rows, where: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for i, point in enumerate(rows or []):
            self.code(point.system, TELECOM_SYSTEMS, f"{where}[{i}].system")
            value = (point.value or "").strip()
            if point.system in ("phone", "fax", "email") and value and point.system not in found:
                if point.system == "email":
                    try:
                        validate_email(value)
                    except ValidationError:
                        self.fail(f"{value!r:.80} is not an email address.",
                                  f"{where}[{i}].value")
                        continue
                found[point.system] = value
        return found

    def address(self, rows, where: str) -> dict[str, str]:
        for addr in rows or []:
            if addr.use == "old":
                continue
            state = (addr.state or "").strip()
            return {
                "address_line": ", ".join(line.strip() for line in (addr.line or []) if line),
                "city": (addr.city or "").strip(),
                # A full state name cut to two letters would be wrong ("Connecticut"): kept
                # only when it is already a two-letter code.
                "state": state.upper() if re.fullmatch(r"[A-Za-z]{2}", state) else "",
                "zip_code": (addr.postalCode or "").strip(),
            }
        return {}

    def person_name(self, names, where: str) -> tuple[str, str, str]:
        """(given, family, text) from the official, else usual, else first HumanName."""
        for i, name in enumerate(names or []):
            self.code(name.use, NAME_USES, f"{where}[{i}].use")
        ranked = sorted(names or [], key=lambda n: {"official": 0, "usual": 1}.get(n.use, 2))
        if not ranked:
            return "", "", ""
        best = ranked[0]
        given = " ".join(g.strip() for g in (best.given or []) if g and g.strip())
        family = (best.family or "").strip()
        text = (best.text or "").strip()
        if text and not (given or family):
            parts = text.split(",")[0].split()
            given, family = " ".join(parts[:-1]), parts[-1] if parts else ""
        if not text:
            text = " ".join(p for p in (given, family) if p)
            suffix = ", ".join(s.strip() for s in (best.suffix or []) if s and s.strip())
            text += f", {suffix}" if suffix and text else ""
        return given, family, text

    def npi(self, identifiers, where: str) -> str:
        for i, ident in enumerate(identifiers or []):
            if ident.system == NPI_SYSTEM and ident.value:
                try:
                    validate_npi(ident.value.strip())
                except ValidationError as error:
                    self.fail(" ".join(error.messages), f"{where}[{i}].value", "code-invalid")
                    return ""
                return ident.value.strip()
        return ""

    def provider(self, res, where: str, *, is_organization: bool) -> ProviderIn:
        npi = self.npi(res.identifier, f"{where}.identifier")
        telecom = self.telecom(res.telecom, f"{where}.telecom")
        address = self.address(res.address, f"{where}.address")
        if is_organization:
            name = (res.name or "").strip()
        else:
            name = self.person_name(res.name, f"{where}.name")[2]
        return ProviderIn(npi=npi, name=name, is_organization=is_organization,
                          phone=telecom.get("phone", ""), fax=telecom.get("fax", ""),
                          email=telecom.get("email", ""), **address)

    # -- elements

    def requester(self) -> ProviderIn | None:
        ref = self.sr.requester
        where = "ServiceRequest.requester"
        if ref is None:
            return None
        if not ref.reference:
            # A logical reference: {"identifier": NPI, "display": name}.
            npi = ""
            if ref.identifier is not None and ref.identifier.system == NPI_SYSTEM:
                npi = self.npi([ref.identifier], f"{where}.identifier")
            name = (ref.display or "").strip()
            if not (npi or name):
                self.fail("The requester needs a contained resource, an NPI identifier or a "
                          "display name.", where, "required")
                return None
            return ProviderIn(npi=npi, name=name)
        res, path = self.resolve(ref, where, ("Practitioner", "PractitionerRole",
                                              "Organization"))
        if res is None:
            return None
        kind = res.get_resource_type()
        if kind == "Organization":
            return self.provider(res, path, is_organization=True)
        if kind == "Practitioner":
            return self.provider(res, path, is_organization=False)
        # PractitionerRole: the practitioner at the organization; the organization's address
        # and phone stand in for a practitioner who gives none.
        org = None
        if res.organization is not None:
            org, org_path = self.resolve(res.organization, f"{path}.organization",
                                         ("Organization",))
            org_in = self.provider(org, org_path, is_organization=True) if org else None
        else:
            org_in = None
        if res.practitioner is None:
            if org_in is None:
                self.fail("A PractitionerRole needs a practitioner or an organization.",
                          path, "required")
            return org_in
        prac, prac_path = self.resolve(res.practitioner, f"{path}.practitioner",
                                       ("Practitioner",))
        if prac is None:
            return None
        provider = self.provider(prac, prac_path, is_organization=False)
        role_telecom = self.telecom(res.telecom, f"{path}.telecom")
        for name in ("phone", "fax", "email"):
            if not getattr(provider, name):
                setattr(provider, name, role_telecom.get(name)
                        or (getattr(org_in, name) if org_in else ""))
        if org_in is not None and not (provider.address_line or provider.zip_code):
            for name in ("address_line", "city", "state", "zip_code"):
                setattr(provider, name, getattr(org_in, name))
        for i, concept in enumerate(res.code or []):
            for j, coding in enumerate(concept.coding or []):
                if coding.system == NUCC_SYSTEM and coding.code:
                    try:
                        validate_taxonomy(coding.code)
                    except ValidationError as error:
                        self.fail(" ".join(error.messages),
                                  f"{path}.code[{i}].coding[{j}].code", "code-invalid")
                    else:
                        provider.taxonomy_code = coding.code
        return provider

    def subject(self) -> tuple[PatientIn | None, int | None]:
        where = "ServiceRequest.subject"
        target = self.sr.subject.reference or ""
        if target.startswith("Patient/"):
            if not is_db_id(target[8:]):
                self.fail(f"No patient {target!r:.60} here.", f"{where}.reference", "not-found")
                return None, None
            return None, int(target[8:])
        res, path = self.resolve(self.sr.subject, where, ("Patient",))
        if res is None:
            return None, None
        given, family, _ = self.person_name(res.name, f"{path}.name")
        self.code(res.gender, tuple(GENDERS), f"{path}.gender")
        birth = res.birthDate if isinstance(res.birthDate, date) else None
        if birth is not None and birth > self.now.date():
            self.fail("The birth date is in the future.", f"{path}.birthDate")
        identifiers = self.identifiers(res.identifier, f"{path}.identifier")
        own = [v for s, v in identifiers if s == PATIENT_SYSTEM]
        if own and not is_db_id(own[0]):
            self.fail(f"No patient {own[0]!r:.60} here.", f"{path}.identifier", "not-found")
        telecom = self.telecom(res.telecom, f"{path}.telecom")
        patient = PatientIn(
            first_name=given, last_name=family, birth_date=birth,
            sex=GENDERS.get(res.gender or "", ""),
            # Our own MRNs are not a foreign system's id; our patient id is handled apart.
            identifiers=[(s, v) for s, v in identifiers if s not in (MRN_SYSTEM,
                                                                       PATIENT_SYSTEM)],
            phone=telecom.get("phone", ""), email=telecom.get("email", ""),
            **self.address(res.address, f"{path}.address"),
        )
        return patient, int(own[0]) if own and is_db_id(own[0]) else None

    def reasons(self) -> str:
        """reasonCode -> diagnosis: ICD-10-CM codes, or the text of an uncoded reason."""
        parts: list[str] = []
        for i, concept in enumerate(self.sr.reasonCode or []):
            where = f"ServiceRequest.reasonCode[{i}]"
            codes = []
            for j, coding in enumerate(concept.coding or []):
                if coding.system != ICD10_SYSTEM:
                    continue
                code = (coding.code or "").strip().upper()
                if not ICD10_CODE.match(code):
                    self.fail(f"{coding.code!r:.40} is not an ICD-10-CM code (a letter, two "
                              "characters, then optionally a dot and up to four more, e.g. "
                              "M54.50).", f"{where}.coding[{j}].code", "code-invalid")
                    continue
                codes.append(code)
            if codes:
                parts.extend(codes)
            else:
                text = (concept.text or "").strip() or next(
                    ((c.display or c.code or "").strip() for c in concept.coding or []
                     if (c.display or c.code)), "")
                if text:
                    parts.append(text)
        diagnosis = ", ".join(dict.fromkeys(parts))
        if len(diagnosis) > 200:
            self.fail("The reasons add up to more than 200 characters; send the codes and "
                      "put the narrative in note.", "ServiceRequest.reasonCode", "too-long")
        return diagnosis

    def service(self) -> tuple[int | None, list[str], str]:
        concept = self.sr.code
        if concept is None:
            return None, [], ""
        own = next((c.code for c in concept.coding or []
                    if c.system == SERVICE_LINE_SYSTEM and is_db_id(c.code or "")), None)
        names = [(concept.text or "").strip()]
        for coding in concept.coding or []:
            names += [(coding.display or "").strip(), (coding.code or "").strip()]
        names = [n for n in dict.fromkeys(names) if n]
        return (int(own) if own else None), names, names[0] if names else ""

    def location(self) -> tuple[int | None, str]:
        for ref in self.sr.locationReference or []:
            ident = ref.identifier
            if ident is not None and ident.system == LOCATION_SYSTEM and is_db_id(
                    ident.value or ""):
                return int(ident.value), ""
            target = ref.reference or ""
            if target.startswith("Location/") and is_db_id(target[9:]):
                return int(target[9:]), ""
            if (ref.display or "").strip():
                return None, ref.display.strip()
        return None, ""

    def received_at(self) -> datetime | None:
        authored = self.sr.authoredOn
        if authored is None:
            return None
        if not isinstance(authored, datetime):
            authored = timezone.make_aware(datetime.combine(authored, time()))
        if authored > self.now + timedelta(minutes=5):
            self.fail("authoredOn is in the future.", "ServiceRequest.authoredOn")
        return authored


def referral_in_from(sr: ServiceRequest, *, now: datetime | None = None) -> ReferralIn:
    """A validated ServiceRequest as a ReferralIn, or a 422 listing every problem."""
    reader = _Reader(sr, now or timezone.now())
    reader.code(sr.status, SR_STATUSES, "ServiceRequest.status")
    reader.code(sr.intent, SR_INTENTS, "ServiceRequest.intent")
    reader.code(sr.priority, SR_PRIORITIES, "ServiceRequest.priority")
    if sr.status in SR_STATUSES and sr.status != "active":
        reader.fail(f"Only active referrals are received; this one is {sr.status!r}.",
                    "ServiceRequest.status", "business-rule")
    if sr.intent == "option":
        reader.fail("An option is not a referral; send intent \"order\".",
                    "ServiceRequest.intent", "business-rule")
    identifiers = reader.identifiers(sr.identifier, "ServiceRequest.identifier")
    own = next((v for s, v in identifiers if s == REFERRAL_SYSTEM), None)
    foreign = [(s, v) for s, v in identifiers if s not in OWN_SYSTEMS]
    if not foreign and not (own and is_db_id(own)):
        reader.fail("The ServiceRequest needs an identifier from the sending system "
                    "(system and value): it is how a repeat delivery is recognised.",
                    "ServiceRequest.identifier", "required")
    patient, patient_id = reader.subject()
    requester = reader.requester()
    diagnosis = reader.reasons()
    reason = "\n\n".join((n.text or "").strip() for n in sr.note or [] if (n.text or "").strip())
    service_id, service_names, service_text = reader.service()
    location_id, location_name = reader.location()
    received_at = reader.received_at()
    if reader.issues:
        raise FhirError(422, reader.issues)
    return ReferralIn(
        identifiers=foreign, own_referral_id=int(own) if own and is_db_id(own) else None,
        patient=patient, patient_id=patient_id, requester=requester,
        priority={"asap": "urgent", None: "routine"}.get(sr.priority, sr.priority),
        reason=reason, diagnosis=diagnosis, service_line_id=service_id,
        service_names=service_names, service_text=service_text, location_id=location_id,
        location_name=location_name, received_at=received_at,
    )


# --------------------------------------------------------------------------- outbound


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _telecom(**values: str) -> list[dict[str, str]]:
    return [{"system": system, "value": value} for system, value in values.items() if value]


def _address(obj: Any) -> list[dict[str, Any]]:
    row: dict[str, Any] = {}
    if obj.address_line:
        row["line"] = [obj.address_line]
    for attr, key in (("city", "city"), ("state", "state"), ("zip_code", "postalCode")):
        if getattr(obj, attr):
            row[key] = getattr(obj, attr)
    return [row] if row else []


def patient_resource(patient, *, resource_id: str) -> dict[str, Any]:
    identifiers = [{"system": PATIENT_SYSTEM, "value": str(patient.pk)}]
    if patient.mrn:
        identifiers.append({"system": MRN_SYSTEM, "value": patient.mrn})
    identifiers += [{"system": row.system, "value": row.value}
                    for row in sorted(patient.identifiers.all(), key=lambda r: r.pk)]
    res: dict[str, Any] = {
        "resourceType": "Patient", "id": resource_id, "identifier": identifiers,
        "name": [{"use": "official", "family": patient.last_name,
                  "given": [patient.first_name]}],
    }
    telecom = _telecom(phone=patient.phone, email=patient.email)
    if telecom:
        res["telecom"] = telecom
    sex = {"F": "female", "M": "male", "X": "other"}.get(patient.sex)
    if sex:
        res["gender"] = sex
    if patient.birth_date:
        res["birthDate"] = patient.birth_date.isoformat()
    address = _address(patient)
    if address:
        res["address"] = address
    return res


def _human_name(text: str) -> dict[str, Any]:
    """"Dana Whitfield, MD" -> text, family Whitfield, given [Dana], suffix [MD]."""
    person, _, suffix = text.partition(",")
    words = person.split()
    name: dict[str, Any] = {"text": text}
    if words:
        name["family"] = words[-1]
    if len(words) > 1:
        name["given"] = words[:-1]
    if suffix.strip():
        name["suffix"] = [s.strip() for s in suffix.split(",") if s.strip()]
    return name


def _partner_resource(partner, *, resource_id: str) -> dict[str, Any]:
    person = partner.kind == PartnerKind.CLINICIAN
    identifiers = [{"system": PARTNER_SYSTEM, "value": str(partner.pk)}]
    if partner.npi:
        identifiers.insert(0, {"system": NPI_SYSTEM, "value": partner.npi})
    res: dict[str, Any] = {"resourceType": "Practitioner" if person else "Organization",
                           "id": resource_id, "identifier": identifiers}
    if person:
        res["name"] = [_human_name(partner.name)]
    else:
        res["name"] = partner.name
    telecom = _telecom(phone=partner.phone, fax=partner.fax, email=partner.email)
    if telecom:
        res["telecom"] = telecom
    address = _address(partner)
    if address:
        res["address"] = address
    return res


def requester_resources(partner, *, contained: bool = True) -> tuple[dict[str, Any], list[dict]]:
    """The requester reference and the resources it points to: a clinician is a
    Practitioner (in a PractitionerRole when they belong to a practice), other partners an
    Organization; a patient who referred is named by display only. Contained, the ids are
    "requester", "requester-org" and "requester-role"; otherwise the partner ids."""
    if partner.kind == PartnerKind.PATIENT_REFERRER:
        return {"display": partner.name}, []
    person = partner.kind == PartnerKind.CLINICIAN
    main_type = "Practitioner" if person else "Organization"

    def ref(kind: str, local: str, pk: int) -> tuple[str, str]:
        return (f"#{local}", local) if contained else (f"{kind}/{pk}", str(pk))

    main_ref, main_id = ref(main_type, "requester", partner.pk)
    main = _partner_resource(partner, resource_id=main_id)
    org = partner.organization if person else None
    if org is None:
        return {"reference": main_ref, "display": partner.name}, [main]
    org_ref, org_id = ref("Organization", "requester-org", org.pk)
    role_ref, role_id = ref("PractitionerRole", "requester-role", partner.pk)
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole", "id": role_id,
        "practitioner": {"reference": main_ref}, "organization": {"reference": org_ref},
    }
    if partner.taxonomy_code:
        role["code"] = [{"coding": [{"system": NUCC_SYSTEM, "code": partner.taxonomy_code}]}]
    return ({"reference": role_ref, "display": partner.name},
            [role, main, _partner_resource(org, resource_id=org_id)])


def _reason_codes(diagnosis: str) -> list[dict[str, Any]]:
    if not diagnosis:
        return []
    pieces = [p.strip() for p in diagnosis.split(",")]
    if all(ICD10_CODE.match(p) for p in pieces):
        return [{"coding": [{"system": ICD10_SYSTEM, "code": p}]} for p in pieces]
    return [{"text": diagnosis}]


def referral_to_service_request(referral, *, with_patient: bool = True,
                                with_clinical: bool = True,
                                contained: bool = True) -> dict[str, Any]:
    """The referral as a ServiceRequest with its patient and requester contained.
    Without `with_patient` the subject is an opaque Patient/<id>; without `with_clinical`
    no reasonCode or note. With contained=False (the export Bundle) the patient and the
    requester are referenced as Patient/<id>, Practitioner/<id>... and left out: the
    Bundle carries them as entries of their own (`referral_related_resources`)."""
    inline: list[dict[str, Any]] = []
    if with_patient and contained:
        inline.append(patient_resource(referral.patient, resource_id="patient"))
        subject = {"reference": "#patient"}
    else:
        subject = {"reference": f"Patient/{referral.patient_id}"}
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": str(referral.pk),
        "meta": {"lastUpdated": instant(referral.status_changed_at)},
    }
    requester = None
    if referral.source_partner is not None:
        requester, resources = requester_resources(referral.source_partner,
                                                   contained=contained)
        if contained:
            inline += resources
    if inline:
        res["contained"] = inline
    res["identifier"] = [{"system": row.system, "value": row.value}
                         for row in sorted(referral.identifiers.all(), key=lambda r: r.pk)]
    res["identifier"].append({"system": REFERRAL_SYSTEM, "value": str(referral.pk)})
    res["status"] = service_request_status(referral)
    res["intent"] = "order"
    res["priority"] = referral.priority
    if referral.service_line is not None:
        line = referral.service_line
        res["code"] = {"coding": [{"system": SERVICE_LINE_SYSTEM, "code": str(line.pk),
                                   "display": line.name}], "text": line.name}
    res["subject"] = subject
    res["authoredOn"] = instant(referral.received_at)
    if requester is not None:
        res["requester"] = requester
    if with_clinical:
        reason_codes = _reason_codes(referral.diagnosis)
        if reason_codes:
            res["reasonCode"] = reason_codes
        if referral.reason:
            res["note"] = [{"text": referral.reason}]
    res["locationReference"] = [{
        "identifier": {"system": LOCATION_SYSTEM, "value": str(referral.location_id)},
        "display": referral.location.name}]
    return res


def referral_related_resources(referral, *, with_patient: bool = True) -> list[dict]:
    """The Patient and requester resources a non-contained ServiceRequest points to."""
    found = []
    if with_patient:
        found.append(patient_resource(referral.patient, resource_id=str(referral.patient_id)))
    if referral.source_partner is not None:
        found += requester_resources(referral.source_partner, contained=False)[1]
    return found


def task_status(referral) -> tuple[str, str]:
    """(Task.status, BSeR businessStatus code) for the referral's status and outcome; a
    removed referral's Task is entered-in-error, with the business status it had."""
    if referral.removed_at is not None:
        return ENTERED_IN_ERROR, _live_task_status(referral)[1]
    return _live_task_status(referral)


def _live_task_status(referral) -> tuple[str, str]:
    if referral.status == "closed_lost" and referral.outcome == "no_show":
        return NO_SHOW_TASK
    return TASK_STATUS_OF[referral.status]


def task_id(referral) -> str:
    return f"referral-{referral.pk}"


def referral_to_task(referral) -> dict[str, Any]:
    """The closed-loop status of a referral as a Task (BSeR business status codes)."""
    status, business = task_status(referral)
    focus = {"reference": f"ServiceRequest/{referral.pk}"}
    res: dict[str, Any] = {
        "resourceType": "Task", "id": task_id(referral),
        "meta": {"lastUpdated": instant(referral.status_changed_at)},
        "contained": [{
            "resourceType": "Organization", "id": "practice",
            "name": settings.REFNET_PRACTICE_NAME,
            "telecom": [{"system": "phone", "value": settings.REFNET_PRACTICE_PHONE}],
            "address": [{"text": settings.REFNET_PRACTICE_ADDRESS}],
        }],
        "basedOn": [focus],
        "status": status,
        "businessStatus": {"coding": [{"system": BSER_SYSTEM, "code": business,
                                       "display": BSER[business]}],
                           "text": referral.get_status_display()},
        "intent": "order",
        "priority": referral.priority,
        "focus": focus,
        "authoredOn": instant(referral.received_at),
        "lastModified": instant(referral.status_changed_at),
        "owner": {"reference": "#practice", "display": settings.REFNET_PRACTICE_NAME},
    }
    if referral.status == "closed_lost" and referral.outcome:
        res["statusReason"] = {"text": referral.get_outcome_display()}
    return res
