"""Fixtures for the HL7 tests: the practice's two locations (with addresses the sample
messages name), the physical therapy service line, API keys and the sample messages."""

from pathlib import Path

import pytest

from refnet.api.keys import api_key_create
from refnet.practice.models import Location, ServiceLine

HERE = Path(__file__).parent
MESSAGES = HERE / "messages"
GOLDEN = HERE / "golden"
VERSIONS = ["2.3", "2.4", "2.5", "2.5.1"]


def sample(version: str) -> str:
    """A sample REF^I12 with CR segment ends (the files are kept with LF for reading)."""
    return (MESSAGES / f"ref_i12_v{version}.hl7").read_text().replace("\n", "\r")


def with_field(message: str, segment: str, position: int, value: str) -> str:
    """The message with one field of the first `segment` replaced (MSH counts MSH-1)."""
    lines = message.split("\r")
    for i, line in enumerate(lines):
        if line.startswith(segment + "|"):
            parts = line.split("|")
            index = position - 1 if segment == "MSH" else position
            parts += [""] * (index + 1 - len(parts))
            parts[index] = value
            lines[i] = "|".join(parts)
            break
    return "\r".join(lines)


def without(message: str, segment: str) -> str:
    return "\r".join(line for line in message.split("\r") if not line.startswith(segment + "|"))


@pytest.fixture
def practice(db):
    """Main Street Clinic (first, so the default) and Westside Clinic, and the service lines."""
    main = Location.objects.create(name="Main Street Clinic", address_line="1 Main St",
                                   city="Springfield", state="IL", zip_code="62701",
                                   phone="(217) 555-0100")
    west = Location.objects.create(name="Westside Clinic", address_line="2200 West Ave",
                                   city="Springfield", state="IL", zip_code="62711",
                                   phone="(217) 555-0200")
    ServiceLine.objects.create(name="Physical therapy")
    ServiceLine.objects.create(name="Occupational therapy")
    return {"main": main, "west": west}


@pytest.fixture
def keys(db):
    made = {}
    for name, role, resources, write in [
        ("engine", "coordinator", ["hl7"], True), ("reader", "coordinator", ["hl7"], False),
        ("outreach", "outreach", ["hl7"], True), ("fhir", "coordinator", ["fhir"], True),
    ]:
        made[name] = api_key_create(name=f"{name} interface", role=role, resources=resources,
                                    can_read=True, can_write=write, by=None)
    return made
