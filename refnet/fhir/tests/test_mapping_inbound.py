"""Golden files: an incoming ServiceRequest -> the referral fields it means (pure mapping,
no database). Each golden_in/*.json has a hand-written *.expected.json beside it."""

import dataclasses
from datetime import UTC, datetime

import pytest

from refnet.fhir.mapping import parse_service_request, referral_in_from

from .conftest import golden

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CASES = ["inbound_practitioner_role", "inbound_practitioner_by_name",
         "inbound_logical_requester"]


def as_plain(incoming) -> dict:
    data = dataclasses.asdict(incoming)
    if data["received_at"] is not None:
        data["received_at"] = data["received_at"].astimezone(UTC).isoformat()
    if data["patient"] is not None and data["patient"]["birth_date"] is not None:
        data["patient"]["birth_date"] = data["patient"]["birth_date"].isoformat()
    for rows in (data["identifiers"], (data["patient"] or {}).get("identifiers", [])):
        rows[:] = [list(pair) for pair in rows]
    return data


@pytest.mark.parametrize("case", CASES)
def test_service_request_maps_to_the_expected_referral_fields(case):
    incoming = referral_in_from(parse_service_request(golden(f"{case}.json")), now=NOW)
    assert as_plain(incoming) == golden(f"{case}.expected.json")
