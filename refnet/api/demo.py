"""Demo: the integrations (`refnet demo`, after the practice's own rows): an API key for a
demo EHR, an HL7 subscriber that wants status replies, and referrals that arrived by FHIR
and by HL7 v2, sent through the real endpoints (/fhir/ServiceRequest and /hl7/, with the
key), so the referrals, the message log and the audit trail look as they would in use.

The key's secret is published (DEMO_API_KEY, printed by `refnet demo` beside the demo
logins): like the demo password it is for trying refnet on a demo database only."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from typing import Any

from django.test import RequestFactory

DEMO_API_KEY = "rn_demo2026_refnet-demo-integration-key-not-secret"
DEMO_KEY_NAME = "Demo EHR (demo only)"
SENDER = ("DEMOEHR", "FRONT RANGE HEALTH")
FIRST = ["Lena", "Marco", "Priya", "Owen", "Rosa", "Tomas", "Keiko", "Elias"]
LAST = ["Vargas", "Lindgren", "Achebe", "Moreau", "Castillo", "Novak", "Haddad", "Quinn"]
REASONS = [("M54.50", "Low back pain, unspecified", "Physical therapy"),
           ("S83.511A", "Sprain of ACL of right knee", "Sports medicine"),
           ("M25.511", "Pain in right shoulder", "Orthopaedics"),
           ("M79.18", "Myalgia, other site", "Physical therapy")]


def _npi(rng: random.Random) -> str:
    from refnet.registry.nppes_parse import npi_ok

    while True:
        body = f"1{rng.randrange(10**8):08d}"
        for check in "0123456789":
            if npi_ok(body + check):
                return body + check


def _hl7(n: int, rng: random.Random, now: datetime, provider: tuple[str, str, str]) -> str:
    """A REF^I12 (v2.5.1) from the demo EHR."""
    first, last = FIRST[(n + 3) % len(FIRST)], LAST[(n + 5) % len(LAST)]
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
    code, text, service = REASONS[n % len(REASONS)]
    name, npi, city = provider
    stamp = f"{now:%Y%m%d%H%M%S}"
    return "\r".join([
        f"MSH|^~\\&|{SENDER[0]}|{SENDER[1]}|REFNET|DEMO|{stamp}||REF^I12^REF_I12|"
        f"DEMO-HL7-{n:04d}|P|2.5.1|||AL|AL",
        f"RF1|P^Pending^HL70283|{'A^ASAP' if n % 3 == 0 else 'R^Routine'}^HL70280|"
        f"PT^{service}^HL70281||O^Outgoing^HL70282|FRH-{2026_000 + n}^FRH|{stamp[:8]}",
        f"PRD|RP|{name}|100 Colfax Ave^^{city}^CO^80203||^WPN^PH^^^303^555{1000 + n:04d}|^|"
        f"{npi}^NPI",
        "PRD|RT|^Physical therapy team|2955 E 1st Ave^^Denver^CO^80206|||",
        f"PID|1||FRH-{880_000 + n}^^^FRH&2.16.840.1.113883.3.999&ISO^MR||{last}^{first}||"
        f"{born:%Y%m%d}|{'F' if n % 2 else 'M'}|||{100 + n} Pine St^^Denver^CO^80218||"
        f"^PRN^PH^^^303^555{2000 + n:04d}",
        f"DG1|1||{code}^{text}^I10",
    ])


def _service_request(n: int, rng: random.Random, now: datetime,
                     provider: tuple[str, str, str]) -> dict[str, Any]:
    first, last = FIRST[(n + 1) % len(FIRST)], LAST[(n + 2) % len(LAST)]
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
    code, text, service = REASONS[(n + 1) % len(REASONS)]
    name, npi, city = provider
    family, _, given = name.partition(", ")[0].rpartition(" ")[::-1] if " " in name \
        else (name, "", "")
    return {
        "resourceType": "ServiceRequest",
        "contained": [
            {"resourceType": "Patient", "id": "pat",
             "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.999.1",
                             "value": f"FRH-{770_000 + n}"}],
             "name": [{"given": [first], "family": last}],
             "telecom": [{"system": "phone", "value": f"(303) 555-{3000 + n:04d}"}],
             "gender": "female" if n % 2 else "male", "birthDate": born.isoformat(),
             # A ZIP of the demo's centroids (the "where patients come from" report).
             "address": [{"line": [f"{200 + n} Elm St"], "city": "Denver", "state": "CO",
                          "postalCode": ("80209", "80210", "80220", "80224")[n % 4]}]},
            {"resourceType": "Practitioner", "id": "doc",
             "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi}],
             "name": [{"family": family, "given": [given] if given else []}],
             "address": [{"line": ["100 Colfax Ave"], "city": city, "state": "CO",
                          "postalCode": "80203"}]},
        ],
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.999.2",
                        "value": f"FRH-SR-{n:04d}"}],
        "status": "active", "intent": "order",
        "priority": "urgent" if n % 3 == 0 else "routine",
        "code": {"text": service},
        "subject": {"reference": "#pat"},
        "authoredOn": now.isoformat(),
        "requester": {"reference": "#doc"},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                    "code": code, "display": text}]}],
        "note": [{"text": "Sent by the demo EHR over FHIR."}],
    }


def build_demo(*, practice: Any, partners: list, now: datetime, rng: random.Random,
               say: Any) -> None:
    from refnet.accounts.models import Role
    from refnet.fhir.views import service_requests
    from refnet.hl7.models import HL7Subscriber
    from refnet.hl7.views import receive

    from .keys import api_key_create

    key, raw = api_key_create(
        name=DEMO_KEY_NAME, role=Role.COORDINATOR, resources=["fhir", "hl7", "referrals",
                                                            "partners"],
        can_read=True, can_write=True, by=practice.users["admin"], raw=DEMO_API_KEY)
    HL7Subscriber.objects.create(
        sending_application=SENDER[0], sending_facility="", host="127.0.0.1", port=2576)
    # Senders: some known partners (matched by NPI), some new to the practice (created).
    known = [(p.name, p.npi, p.city or "Denver") for p in partners
             if p.kind == "clinician" and p.npi][:4]
    new = [(f"{FIRST[i]} {LAST[i]}, MD", _npi(rng), "Denver") for i in range(2)]
    providers = known + new
    factory = RequestFactory(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="127.0.0.1",
                             SERVER_NAME="localhost")
    answers = []
    first = ""
    for n in range(6):
        body = _hl7(n, rng, now, providers[n % len(providers)])
        first = first or body
        if n == 5:  # one the sender got wrong (no PID segment): AE, nothing written
            body = "\r".join(seg for seg in body.split("\r") if not seg.startswith("PID|"))
        answers.append(_send_hl7(receive, factory, body))
    # A repeat delivery of the first referral (a new control id): AA, no second referral.
    answers.append(_send_hl7(receive, factory, first.replace("DEMO-HL7-0000", "DEMO-HL7-0100")))
    statuses = []
    for n in range(5):
        resource = _service_request(n, rng, now, providers[(n + 2) % len(providers)])
        if n == 4:  # an unknown diagnosis code: refused with an OperationOutcome
            resource["reasonCode"][0]["coding"][0]["code"] = "XYZ.123"
        response = service_requests(factory.post("/fhir/ServiceRequest", json.dumps(resource),
                                                 content_type="application/fhir+json"))
        statuses.append(response.status_code)
    say(f"Integrations: API key {key.name!r}, HL7 subscriber {SENDER[0]}, HL7 messages "
        f"({', '.join(answers)}), FHIR ServiceRequests (HTTP {', '.join(map(str, statuses))})")


def _send_hl7(receive: Any, factory: RequestFactory, body: str) -> str:
    response = receive(factory.post("/hl7/", body, content_type="x-application/hl7-v2+er7"))
    return response.content.decode().split("\r")[1].split("|")[1]  # MSA-1


def integrations_table() -> str:
    """Where the demo's integration pieces are, with its published key (if it exists)."""
    from .keys import _digest
    from .models import ApiKey

    found = ApiKey.objects.filter(key_hash=_digest(DEMO_API_KEY),
                                  revoked_at__isnull=True).first()
    lines = ["Integrations (as admin: API keys; as manager or admin: Integrations)"]
    if found is not None:
        lines.append(f"  demo API key (demo only; real keys are made under API keys and "
                     f"shown once): {DEMO_API_KEY}")
        lines.append("  e.g. curl -H 'Authorization: Bearer <key>' <server>/fhir/ServiceRequest"
                     "; the REST API's documentation is at /api/docs")
    else:
        lines.append("  no demo API key: create one as admin under API keys (shown once)")
    return "\n".join(lines)
