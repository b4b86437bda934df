"""REF^I12 in, ACK and RRI^I12 out: pure mapping functions (see docs/hl7.md for the tables).

parse_ref_i12(text) reads the header by hand (so a broken message still gets a useful ACK),
lets hl7apy parse the rest at the tolerant validation level, and checks what refnet uses
itself: every problem is an Hl7Error naming the segment and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from refnet.partners.models import validate_npi
from refnet.referrals.inbound import PatientIn, ProviderIn
from refnet.referrals.models import Outcome, ReferralStatus

from .er7 import (
    ERROR_TEXT,
    SEGMENT_RE,
    SUPPORTED_VERSIONS,
    Codec,
    Header,
    Hl7Error,
    escape,
    format_ts,
    parse_date,
    read_header,
)

PROCESSING_IDS = ("P",)
PRIORITY_IN = {"S": "stat", "A": "urgent", "R": "routine"}
PRIORITY_OUT = {"stat": ("S", "STAT"), "urgent": ("A", "ASAP"), "routine": ("R", "Routine")}
SEX_IN = {"F": "F", "M": "M", "O": "X", "A": "X", "U": "", "N": ""}
SEX_OUT = {"F": "F", "M": "M", "X": "O"}
APPLICATION = "REFNET"


@dataclass
class Segment:
    name: str
    sequence: int  # 1 for the first segment of this name
    fields: dict[int, list[str]]  # position -> raw ER7 of each repetition

    def reps(self, position: int) -> list[str]:
        return [raw for raw in self.fields.get(position, []) if raw]

    def raw(self, position: int) -> str:
        reps = self.reps(position)
        return reps[0] if reps else ""


@dataclass
class RefIn:
    header: Header
    external_id: str
    external_namespace: str
    patient: PatientIn
    patient_identifiers: list[list[str]]  # [value, assigning authority, type]
    requester: ProviderIn | None
    referred_to: ProviderIn | None
    referred_to_ids: list[str] = field(default_factory=list)
    priority: str = "routine"
    reason: str = ""
    diagnosis: str = ""
    service_type: list[str] = field(default_factory=list)  # RF1-3 code and text


def check_header(header: Header) -> None:
    """The envelope: what refnet refuses outright (AR) before reading the content."""
    if not header.control_id:
        raise Hl7Error("MSH-10: the message control id is missing.", "MSH", 1, 10, "101", "AR")
    if not header.version:
        raise Hl7Error("MSH-12: the version id is missing.", "MSH", 1, 12, "101", "AR")
    if header.version not in SUPPORTED_VERSIONS:
        raise Hl7Error(f"MSH-12: version {header.version[:20]!r} is not supported "
                       f"(use {', '.join(SUPPORTED_VERSIONS)}).", "MSH", 1, 12, "203", "AR")
    if (header.message_type, header.trigger) != ("REF", "I12"):
        shown = f"{header.message_type}^{header.trigger}"[:30]
        raise Hl7Error(f"MSH-9: message type {shown!r} is not accepted; refnet takes REF^I12.",
                       "MSH", 1, 9, "200", "AR")
    if header.processing_id not in PROCESSING_IDS:
        raise Hl7Error(f"MSH-11: processing id {header.processing_id[:10]!r} is not accepted; "
                       "refnet stores production (P) messages only.", "MSH", 1, 11, "202",
                       "AR")
    if not (header.sending_application or header.sending_facility):
        raise Hl7Error("MSH-3: the sending application (or MSH-4 facility) is required to "
                       "tell senders apart.", "MSH", 1, 3, "101", "AR")


def segments_of(text: str, header: Header) -> list[Segment]:
    """hl7apy's parse, flattened to segments with numbered fields. Any failure to parse is
    an AR naming what hl7apy said."""
    try:
        message = parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT,
                                find_groups=False)
    except Exception as exc:  # hl7apy raises many types (ParserError, InvalidName, ...)
        raise Hl7Error(f"The message could not be parsed: {str(exc)[:200]}", "MSH", 1, None,
                       "100", "AR") from None
    found: list[Segment] = []
    counts: dict[str, int] = {}
    for child in message.children:
        name = (child.name or "").upper()
        if not SEGMENT_RE.match(name):
            continue
        counts[name] = counts.get(name, 0) + 1
        fields: dict[int, list[str]] = {}
        for item in child.children:
            label = item.name or ""
            prefix = f"{name}_"
            if not label.upper().startswith(prefix) or not label[len(prefix):].isdigit():
                continue
            fields.setdefault(int(label[len(prefix):]), []).append(item.to_er7())
        found.append(Segment(name, counts[name], fields))
    if not found or found[0].name != "MSH":
        raise Hl7Error("The message does not start with an MSH segment.", "MSH", 1, None,
                       "100", "AR")
    return found


def _xpn_name(codec: Codec, raw: str) -> tuple[str, str, str, str]:
    """(family, given, middle, degree) from an XPN/XCN-like name."""
    family = codec.component(raw, 1, 1)
    return family, codec.component(raw, 2), codec.component(raw, 3), codec.component(raw, 6)


def _phones(codec: Codec, reps: list[str]) -> tuple[str, str, str]:
    """(phone, fax, email) from XTN repetitions: comp 1 is the formatted number (2.3),
    else area (6) + local (7) + extension (8); comp 3 is the equipment (PH, FX, Internet),
    comp 4 the email address."""
    phone = fax = email = ""
    for raw in reps:
        equipment = codec.component(raw, 3).upper()
        address = codec.component(raw, 4)
        number = codec.component(raw, 1)
        if not number and codec.component(raw, 7):
            number = f"({codec.component(raw, 6)}) " if codec.component(raw, 6) else ""
            local = codec.component(raw, 7)
            number += f"{local[:3]}-{local[3:]}" if len(local) == 7 and local.isdigit() \
                else local
            if codec.component(raw, 8):
                number += f" x{codec.component(raw, 8)}"
        if equipment in ("INTERNET", "X.400") or (address and not number):
            email = email or address
        elif equipment == "FX":
            fax = fax or number
        elif number:
            phone = phone or number
    try:
        validate_email(email)
    except ValidationError:
        email = ""  # an unusable address is dropped rather than refusing the referral
    return phone[:30], fax[:30], email[:254]


def _address(codec: Codec, raw: str) -> dict[str, str]:
    street = ", ".join(p for p in (codec.component(raw, 1, 1), codec.component(raw, 2)) if p)
    return {"address_line": street, "city": codec.component(raw, 3),
            "state": codec.component(raw, 4), "zip_code": codec.component(raw, 5)}


def _provider(codec: Codec, prd: Segment) -> tuple[ProviderIn, list[str]]:
    family, given, middle, degree = _xpn_name(codec, prd.raw(2))
    name = " ".join(p for p in (given, middle, family) if p)
    if degree and name:
        name = f"{name}, {degree}"
    ids, npi = [], ""
    for raw in prd.reps(7):
        value, kind = codec.component(raw, 1), codec.component(raw, 2).upper()
        if value:
            ids.append(value)
        if kind == "NPI" and value and not npi:
            npi = value
    phone, fax, email = _phones(codec, prd.reps(5))
    provider = ProviderIn(npi=npi, name=name, is_organization=bool(family) and not given,
                          phone=phone, fax=fax, email=email, **_address(codec, prd.raw(3)))
    if npi:
        try:
            validate_npi(npi)
        except ValidationError as exc:
            raise Hl7Error(f"PRD-7: NPI {npi[:20]!r}: {' '.join(exc.messages)}", "PRD",
                           prd.sequence, 7, "102") from None
    return provider, ids


def _role(codec: Codec, prd: Segment) -> str:
    roles = [codec.component(raw, 1).upper() for raw in prd.reps(1)]
    return next((r for r in roles if r in ("RP", "RT")), roles[0] if roles else "")


def parse_ref_i12(text: str) -> RefIn:
    """The referral a REF^I12 carries. Raises Hl7Error (AR or AE) naming the field."""
    header = read_header(text)
    check_header(header)
    codec = Codec(header.field_sep, header.encoding)
    segments = segments_of(text, header)
    by_name: dict[str, list[Segment]] = {}
    for segment in segments:
        by_name.setdefault(segment.name, []).append(segment)

    requester = referred_to = None
    referred_to_ids: list[str] = []
    for prd in by_name.get("PRD", []):
        role = _role(codec, prd)
        if not role:
            raise Hl7Error("PRD-1: the provider role is missing (RP referring, RT referred "
                           "to).", "PRD", prd.sequence, 1, "101")
        if role == "RP" and requester is None:
            requester, _ids = _provider(codec, prd)
            if not requester.name and not requester.npi:
                raise Hl7Error("PRD-2: the referring provider (role RP) has no name and no NPI "
                               "(PRD-7).", "PRD", prd.sequence, 2, "101")
        elif role == "RT" and referred_to is None:
            referred_to, referred_to_ids = _provider(codec, prd)

    pids = by_name.get("PID", [])
    if not pids:
        raise Hl7Error("PID: the patient segment is missing.", "PID", 1, None, "100")
    pid = pids[0]
    family, given, _middle, _degree = _xpn_name(codec, pid.raw(5))
    if not family:
        raise Hl7Error("PID-5: the patient's family name is missing.", "PID", 1, 5, "101")
    if not given:
        raise Hl7Error("PID-5: the patient's given name is missing.", "PID", 1, 5, "101")
    birth_raw = codec.component(pid.raw(7), 1)
    try:
        birth_date = parse_date(birth_raw, "PID-7")
    except Hl7Error as error:
        raise Hl7Error(error.message, "PID", 1, 7, "102") from None
    if birth_date is not None and birth_date > date.today():
        raise Hl7Error(f"PID-7: {birth_raw!r} is in the future.", "PID", 1, 7, "102")
    sex_raw = codec.component(pid.raw(8), 1).upper()
    if sex_raw and sex_raw not in SEX_IN:
        raise Hl7Error(f"PID-8: {sex_raw[:10]!r} is not a sex code (F, M, O, U, A, N).", "PID",
                       1, 8, "103")
    identifiers, id_rows = [], []
    for raw in pid.reps(3):
        value = codec.component(raw, 1)
        authority = codec.component(raw, 4, 1) or codec.component(raw, 4, 2)
        kind = codec.component(raw, 5)
        if not value:
            continue
        system = authority or f"hl7v2:{header.sender}:{kind or 'PI'}"
        identifiers.append((system[:200], value[:200]))
        id_rows.append([value[:200], authority[:200], kind[:10]])
    phone, _fax, email = _phones(codec, pid.reps(13))
    patient = PatientIn(first_name=given, last_name=family, birth_date=birth_date,
                        sex=SEX_IN.get(sex_raw, ""), identifiers=identifiers, phone=phone,
                        email=email, **_address(codec, pid.raw(11)))

    rf1 = (by_name.get("RF1") or [Segment("RF1", 1, {})])[0]
    priority_raw = codec.component(rf1.raw(2), 1).upper()
    if priority_raw and priority_raw not in PRIORITY_IN:
        raise Hl7Error(f"RF1-2: priority {priority_raw[:10]!r} is not S (stat), A (ASAP) or R "
                       "(routine).", "RF1", 1, 2, "103")
    external_id = codec.component(rf1.raw(6), 1)
    namespace = codec.component(rf1.raw(6), 2) if external_id else ""
    service_type = [codec.component(rf1.raw(3), 1), codec.component(rf1.raw(3), 2)]

    diagnosis, dg1_text = "", ""
    for dg1 in by_name.get("DG1", []):
        code = codec.component(dg1.raw(3), 1)
        text = codec.component(dg1.raw(3), 2) or codec.component(dg1.raw(4), 1)
        if code or text:
            diagnosis, dg1_text = code, text
            break
    # The most specific words first: the stated reason, the diagnosis, the referral type.
    reason = (codec.component(rf1.raw(10), 2) or codec.component(rf1.raw(10), 1)
              or dg1_text or service_type[1])
    notes = [codec.component(raw, 1) for nte in by_name.get("NTE", []) for raw in nte.reps(3)]
    notes = [note for note in notes if note]
    if notes:
        reason = "\n".join([reason, *notes]) if reason else "\n".join(notes)
    return RefIn(
        header=header, external_id=(external_id or header.control_id)[:200],
        external_namespace=namespace[:200], patient=patient, patient_identifiers=id_rows,
        requester=requester, referred_to=referred_to, referred_to_ids=referred_to_ids,
        priority=PRIORITY_IN.get(priority_raw, "routine"), reason=reason[:5000],
        diagnosis=diagnosis[:200], service_type=service_type,
    )


# --- Replies -------------------------------------------------------------------------------

def _msh(*, sending: tuple[str, str], receiving: tuple[str, str], now: datetime,
         message_type: str, trigger: str, structure: str, control_id: str, processing_id: str,
         version: str) -> str:
    kind = f"{message_type}^{trigger}" if version in ("2.3", "2.3.1") else \
        f"{message_type}^{trigger}^{structure}"
    return "|".join(["MSH", "^~\\&", escape(sending[0]), escape(sending[1]),
                     escape(receiving[0]), escape(receiving[1]), format_ts(now), "", kind,
                     escape(control_id), processing_id, version])


def err_segment(error: Hl7Error, version: str) -> str:
    """ERR for 2.3/2.4 (ERR-1 as segment^sequence^field^code&text&HL70357) or 2.5 and later
    (ERR-2 location, ERR-3 code, ERR-4 severity, ERR-8 the user message)."""
    code = f"{error.code}&{ERROR_TEXT.get(error.code, '')}&HL70357"
    location = [error.segment, str(error.sequence) if error.segment else "",
                str(error.field) if error.field else ""]
    if version in ("2.3", "2.3.1", "2.4"):
        return "ERR|" + "^".join([*location, code])
    cwe = code.replace("&", "^")
    return "|".join(["ERR", "", "^".join(location).rstrip("^"), cwe, "E", "", "", "",
                     escape(error.message)])


def ack_build(header: Header | None, code: str, error: Hl7Error | None, *, now: datetime,
              control_id: str) -> str:
    """The ACK for a message: MSH with sender and receiver swapped, MSA-1 the code, MSA-2 the
    original control id, MSA-3 the message in words, and an ERR segment when there is an
    error. Segments end with CR."""
    header = header or Header()
    version = header.reply_version
    processing = header.processing_id if header.processing_id in ("P", "D", "T") else "P"
    msh = _msh(sending=(header.receiving_application or APPLICATION,
                        header.receiving_facility),
               receiving=(header.sending_application, header.sending_facility), now=now,
               message_type="ACK", trigger=header.trigger if header.trigger.isalnum() and
               len(header.trigger) <= 3 else "I12",
               structure="ACK", control_id=control_id, processing_id=processing,
               version=version)
    msa = ["MSA", code, escape(header.control_id[:199])]
    if error is not None:
        msa.append(escape(error.message[:80]))
    segments = [msh, "|".join(msa)]
    if error is not None:
        segments.append(err_segment(error, version))
    return "\r".join(segments) + "\r"


def rf1_status(status: str, outcome: str) -> str:
    """RF1-1 (table 0283) for a referral status: see docs/hl7.md."""
    if status in (ReferralStatus.RECEIVED, ReferralStatus.CONTACTED):
        return "P"
    if status == ReferralStatus.CLOSED_LOST:
        return "E" if outcome in (Outcome.NO_RESPONSE, Outcome.NO_SHOW) else "R"
    return "A"  # scheduled, seen, closed: became a patient


@dataclass
class ReplyFacts:
    """What an RRI^I12 says, gathered by services from the referral and the message that
    brought it (a plain record, so the mapping is testable against golden files)."""

    sender_application: str
    sender_facility: str
    version: str
    original_control_id: str
    external_id: str
    external_namespace: str
    referral_id: int
    status: str
    status_label: str
    outcome: str
    priority: str
    changed_at: datetime
    provider_name: str
    provider_npi: str
    provider_address: tuple[str, str, str, str]
    provider_phone: str
    location_name: str
    location_address: tuple[str, str, str, str]
    location_phone: str
    patient_identifiers: list[list[str]]
    patient_family: str
    patient_given: str
    patient_birth_date: date | None
    patient_sex: str


def _xad(parts: tuple[str, str, str, str]) -> str:
    street, city, state, zip_code = (escape(p) for p in parts)
    return "^".join([street, "", city, state, zip_code]).rstrip("^")


def rri_build(facts: ReplyFacts, *, now: datetime, control_id: str) -> str:
    """RRI^I12: MSH, MSA (AA and the original control id), RF1 (status, priority, their
    referral id, effective date, our referral id), PRD RP and RT, PID."""
    version = facts.version if facts.version in SUPPORTED_VERSIONS else "2.5.1"
    msh = _msh(sending=(APPLICATION, facts.location_name),
               receiving=(facts.sender_application, facts.sender_facility), now=now,
               message_type="RRI", trigger="I12", structure="RRI_I12",
               control_id=control_id, processing_id="P", version=version)
    priority_code, priority_text = PRIORITY_OUT.get(facts.priority, ("R", "Routine"))
    originating = escape(facts.external_id)
    if facts.external_namespace:
        originating += f"^{escape(facts.external_namespace)}"
    rf1 = ["RF1", f"{rf1_status(facts.status, facts.outcome)}^{escape(facts.status_label)}"
                  "^HL70283",
           f"{priority_code}^{priority_text}^HL70280", "", "", "", originating,
           format_ts(facts.changed_at), "", "", "", f"{facts.referral_id}^{APPLICATION}"]
    segments = [msh, "|".join(["MSA", "AA", escape(facts.original_control_id)]),
                "|".join(rf1)]
    if facts.provider_name or facts.provider_npi:
        segments.append("|".join([
            "PRD", "RP", escape(facts.provider_name), _xad(facts.provider_address), "",
            f"{escape(facts.provider_phone)}^WPN^PH" if facts.provider_phone else "", "",
            f"{escape(facts.provider_npi)}^NPI" if facts.provider_npi else "",
        ]).rstrip("|"))
    segments.append("|".join([
        "PRD", "RT", escape(facts.location_name), _xad(facts.location_address), "",
        f"{escape(facts.location_phone)}^WPN^PH" if facts.location_phone else "",
    ]).rstrip("|"))
    ids = "~".join(
        "^".join([escape(value), "", "", escape(authority), escape(kind)]).rstrip("^")
        for value, authority, kind in facts.patient_identifiers)
    birth = facts.patient_birth_date.strftime("%Y%m%d") if facts.patient_birth_date else ""
    segments.append("|".join([
        "PID", "1", "", ids, "", f"{escape(facts.patient_family)}^{escape(facts.patient_given)}",
        "", birth, SEX_OUT.get(facts.patient_sex, "U")]))
    return "\r".join(segments) + "\r"


def ack_code_of(text: str) -> tuple[str, str]:
    """(MSA-1, MSA-3 or ERR text) of an ACK a peer sent back; ("", why) if unreadable."""
    lines = [line for line in text.replace("\n", "\r").split("\r") if line]
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 4:
        return "", "The reply is not an HL7 message."
    sep = lines[0][3]
    for line in lines:
        parts = line.split(sep)
        if parts[0] == "MSA" and len(parts) > 1:
            return parts[1][:2].upper(), (parts[3] if len(parts) > 3 else "")[:500]
    return "", "The reply has no MSA segment."
