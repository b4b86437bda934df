"""A small iCalendar (RFC 5545) writer for event invitations, and the reader the tests use.

What it does per the RFC: CRLF line ends (3.1); lines folded at 75 octets with a leading
space on each continuation, never inside a UTF-8 character (3.1); TEXT values escape
backslash, semicolon, comma and newline (3.3.11); times in UTC with a trailing Z (3.3.5);
parameter values with ':', ';' or ',' quoted (3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

CRLF = "\r\n"
PRODID = "-//refnet//Outreach events//EN"


def escape_text(value: str) -> str:
    """A TEXT value: \\ ; , escaped, newlines (any style) as \\n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\n", "\\n")


def _param(value: str) -> str:
    """A parameter value: no quotes or control characters; quoted when it needs to be."""
    value = "".join(c for c in value if c >= " " and c != '"')
    return f'"{value}"' if any(c in value for c in ":;,") else value


def utc_stamp(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("iCalendar times need an aware datetime.")
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Fold one content line at 75 octets (continuations start with a space, which counts),
    splitting only between characters."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return CRLF.join(out)


@dataclass(frozen=True)
class Person:
    name: str
    email: str


def calendar(*, uid: str, sequence: int, stamp: datetime, starts_at: datetime,
             ends_at: datetime, summary: str, location: str, description: str,
             organizer: Person, attendees: list[Person], method: str = "REQUEST",
             url: str = "") -> str:
    """A VCALENDAR holding one VEVENT, as text with CRLF line ends."""
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"SEQUENCE:{int(sequence)}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(starts_at)}",
        f"DTEND:{utc_stamp(ends_at)}",
        f"SUMMARY:{escape_text(summary)}",
    ]
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if url:
        lines.append(f"URL:{url}")
    lines.append(f"ORGANIZER;CN={_param(organizer.name)}:mailto:{organizer.email}")
    for person in attendees:
        lines.append(f"ATTENDEE;CN={_param(person.name)};ROLE=REQ-PARTICIPANT;"
                     f"PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{person.email}")
    lines += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR"]
    return CRLF.join(fold(line) for line in lines) + CRLF


# --- Reading (for tests and checks) ------------------------------------------------------


def unfold(text: str) -> list[str]:
    """Content lines of an iCalendar text: continuations joined, CRLF required."""
    if text.replace(CRLF, "").count("\n") or text.replace(CRLF, "").count("\r"):
        raise ValueError("iCalendar lines must end with CRLF.")
    lines: list[str] = []
    for raw in text.split(CRLF):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def unescape_text(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted = [], "", False
    for c in text:
        if c == '"':
            quoted = not quoted
        if c == sep and not quoted:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    return parts


def parse_event(text: str) -> dict[str, list[tuple[dict[str, str], str]]]:
    """The first VEVENT's properties: name -> [(params, value)], TEXT values unescaped."""
    props: dict[str, list[tuple[dict[str, str], str]]] = {}
    inside = False
    for line in unfold(text):
        if line == "BEGIN:VEVENT":
            inside = True
            continue
        if line == "END:VEVENT":
            break
        if not inside:
            continue
        # The value starts at the first ':' outside a quoted parameter value.
        quoted, split = False, -1
        for i, c in enumerate(line):
            if c == '"':
                quoted = not quoted
            elif c == ":" and not quoted:
                split = i
                break
        head, value = line[:split], line[split + 1:]
        name, *raw_params = _split_outside_quotes(head, ";")
        params = {}
        for p in raw_params:
            key, _, val = p.partition("=")
            params[key] = val.strip('"')
        if name in ("SUMMARY", "LOCATION", "DESCRIPTION", "UID"):
            value = unescape_text(value)
        props.setdefault(name, []).append((params, value))
    return props
