"""The small, format-level pieces of HL7 v2 (ER7, the pipe-and-hat encoding): reading the
MSH header before anything else (so that even a message hl7apy cannot parse gets an ACK
that names it), escaping, HL7 timestamps, and the error that becomes an ERR segment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
DEFAULT_VERSION = "2.5.1"
SEGMENT_RE = re.compile(r"^[A-Z][A-Z0-9]{2}$")

# HL7 table 0357 (message error condition codes): the ones refnet uses.
ERROR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "207": "Application internal error",
}


@dataclass
class Hl7Error(Exception):
    """What is wrong and where: becomes MSA-1 (AE for content, AR for the envelope) and an
    ERR segment (segment^sequence^field and a table 0357 code)."""

    message: str
    segment: str = ""
    sequence: int = 1  # which occurrence of the segment (1 = the first PRD)
    field: int | None = None
    code: str = "207"
    ack: str = "AE"

    def __str__(self) -> str:
        return self.message


@dataclass
class Header:
    """MSH as far as it could be read. Every attribute is a plain, unescaped string."""

    field_sep: str = "|"
    encoding: str = "^~\\&"
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""  # MSH-9.1, e.g. REF
    trigger: str = ""  # MSH-9.2, e.g. I12
    control_id: str = ""  # MSH-10
    processing_id: str = ""  # MSH-11.1
    version: str = ""  # MSH-12.1
    accept_ack: str = ""  # MSH-15
    application_ack: str = ""  # MSH-16

    @property
    def sender(self) -> str:
        """The sending system as one string, e.g. "EPIC^VALLEYCLINIC"."""
        return f"{self.sending_application}^{self.sending_facility}"

    @property
    def reply_version(self) -> str:
        return self.version if self.version in SUPPORTED_VERSIONS else DEFAULT_VERSION


def normalize(text: str) -> str:
    """Segments end with CR; senders over HTTP often use LF or CRLF. Blank lines dropped."""
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    return "\r".join(line for line in text.split("\r") if line.strip())


def decode(raw: bytes) -> str:
    """UTF-8 if it is UTF-8, else Latin-1 (which decodes anything): HL7 senders differ."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class Codec:
    """Splits and unescapes fields with the message's own delimiters."""

    def __init__(self, field_sep: str = "|", encoding: str = "^~\\&") -> None:
        self.field_sep = field_sep
        self.component_sep, self.repetition, self.escape_char, self.subcomponent = (
            (encoding + "^~\\&"[len(encoding):])[:4])
        esc = self.escape_char
        self._unescapes = {
            f"{esc}F{esc}": field_sep, f"{esc}S{esc}": self.component_sep,
            f"{esc}T{esc}": self.subcomponent, f"{esc}R{esc}": self.repetition,
            f"{esc}E{esc}": esc, f"{esc}.br{esc}": "\n",
        }
        self._escape_re = re.compile(re.escape(esc) + r"(F|S|T|R|E|\.br)" + re.escape(esc))

    def unescape(self, value: str) -> str:
        if self.escape_char not in value:
            return value
        return self._escape_re.sub(lambda m: self._unescapes[m.group(0)], value)

    def components(self, raw: str) -> list[str]:
        return raw.split(self.component_sep) if raw else []

    def component(self, raw: str, index: int, sub: int = 1) -> str:
        """The unescaped text of component `index` (1-based), subcomponent `sub`."""
        parts = self.components(raw)
        if index > len(parts):
            return ""
        subs = parts[index - 1].split(self.subcomponent)
        return self.unescape(subs[sub - 1]).strip() if sub <= len(subs) else ""


STANDARD = Codec()


def escape(value: str) -> str:
    """Text to put in a field of a message refnet writes (standard delimiters)."""
    value = value.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        value = value.replace(char, f"\\{code}\\")
    return value.replace("\r\n", "\\.br\\").replace("\n", "\\.br\\").replace("\r", "\\.br\\")


def read_header(text: str) -> Header:
    """Read MSH by hand. Raises Hl7Error (AR) when there is no readable MSH."""
    first = text.split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 8:
        raise Hl7Error("The message does not start with an MSH segment.", "MSH", 1, None,
                       "100", "AR")
    field_sep = first[3]
    rest = first[4:].split(field_sep)
    encoding = rest[0]
    if (field_sep.isalnum() or field_sep.isspace() or not 2 <= len(encoding) <= 4
            or len(set(encoding + field_sep)) != len(encoding) + 1
            or any(c.isalnum() or c.isspace() for c in encoding)):
        raise Hl7Error("MSH-1/MSH-2: the field separator and encoding characters are not "
                       "valid (expected |^~\\&).", "MSH", 1, 2, "102", "AR")
    codec = Codec(field_sep, encoding)
    # rest[0] is MSH-2, so MSH-n is rest[n - 2].
    fields = {n: rest[n - 2] if n - 2 < len(rest) else "" for n in range(3, 17)}
    return Header(
        field_sep=field_sep, encoding=encoding,
        sending_application=codec.component(fields[3], 1),
        sending_facility=codec.component(fields[4], 1),
        receiving_application=codec.component(fields[5], 1),
        receiving_facility=codec.component(fields[6], 1),
        message_type=codec.component(fields[9], 1).upper(),
        trigger=codec.component(fields[9], 2).upper(),
        control_id=codec.component(fields[10], 1),
        processing_id=codec.component(fields[11], 1).upper(),
        version=codec.component(fields[12], 1),
        accept_ack=codec.component(fields[15], 1).upper(),
        application_ack=codec.component(fields[16], 1).upper(),
    )


_TS_RE = re.compile(r"^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?"
                    r")?)?)?)?([+-]\d{4})?$")


def parse_ts(value: str, where: str) -> tuple[datetime | None, int]:
    """An HL7 TS/DTM (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]) as (datetime, digits of
    precision). Raises Hl7Error naming `where` (e.g. "PID-7") when it is not a valid one."""
    match = _TS_RE.match(value.strip())
    bad = f"{where}: {value[:40]!r} is not a valid date"
    if not match:
        raise Hl7Error(bad)
    year, month, day, hour, minute, second, _frac, zone = match.groups()
    try:
        tz = None
        if zone:
            sign = 1 if zone[0] == "+" else -1
            hours, minutes = int(zone[1:3]), int(zone[3:5])
            if hours > 14 or minutes > 59:
                raise ValueError(zone)
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        parsed = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                          int(minute or 0), int(second or 0), tzinfo=tz)
    except ValueError:
        raise Hl7Error(bad) from None
    precision = sum(len(part) for part in (year, month, day, hour, minute, second) if part)
    return parsed, precision


def parse_date(value: str, where: str) -> date | None:
    """A date from a TS: None when blank or coarser than a day (a birth year alone is a
    valid TS but not a birth date to match on)."""
    if not value.strip():
        return None
    parsed, precision = parse_ts(value, where)
    if parsed.year < 1850:
        raise Hl7Error(f"{where}: {value[:40]!r} is not a valid date")
    return parsed.date() if precision >= 8 else None


def format_ts(moment: datetime) -> str:
    """YYYYMMDDHHMMSS+ZZZZ (or without the offset for a naive datetime)."""
    text = moment.strftime("%Y%m%d%H%M%S")
    return text + moment.strftime("%z") if moment.tzinfo is not None else text
