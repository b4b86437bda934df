"""Every REST API operation, FHIR endpoint and the HL7 endpoint, for every role and scope.

1. The REST operations come from the API's own OpenAPI schema, the FHIR endpoints (and the
   methods each takes) from the URL configuration: a new operation without a rule in
   API_RULES fails the test by name.
2. For each role, a key scoped for everything gets 2xx exactly when the role holds the
   operation's capability, else 403; a read-only key is refused writes, a write-only key
   reads; a key without the operation's resource is refused; no key or a revoked key
   gets 401. Ids are real (world.py) and bodies valid, so "allowed" means a real answer.
3. Every answer carries the world's hostile text verbatim and never evaluated, and a key
   whose role may not see patients never gets the world's patient.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.utils import timezone

from refnet.accounts.models import Role
from refnet.accounts.permissions import CAPABILITIES, Cap
from refnet.api.api import api as rest_api
from refnet.api.keys import api_key_create, api_key_revoke
from refnet.api.models import ApiResource

from .test_permission_matrix import ROUTES, _fill
from .world import PATIENT_MARKER, World, evaluated, world_fixture  # noqa: F401 - the fixture

ROLES = [r.value for r in Role]
ALL_RESOURCES = [r.value for r in ApiResource]
HERE = Path(__file__).resolve().parent
FHIR_GOLDEN = HERE.parent.parent / "fhir" / "tests" / "golden"
HL7_SAMPLE = HERE.parent.parent / "hl7" / "tests" / "messages" / "ref_i12_v2.5.hl7"

# (resource, writes?, capability) for each operation; the body a valid call sends.
API_RULES: dict[tuple[str, str], tuple[str, bool, Cap]] = {
    ("GET", "/api/partners"): ("partners", False, Cap.PARTNERS_VIEW),
    ("POST", "/api/partners"): ("partners", True, Cap.PARTNERS_EDIT),
    ("GET", "/api/partners/{partner_id}"): ("partners", False, Cap.PARTNERS_VIEW),
    ("PATCH", "/api/partners/{partner_id}"): ("partners", True, Cap.PARTNERS_EDIT),
    ("GET", "/api/partners/{partner_id}/contacts"): ("partners", False, Cap.PARTNERS_VIEW),
    ("POST", "/api/partners/{partner_id}/contacts"): ("partners", True, Cap.PARTNERS_EDIT),
    ("GET", "/api/referrals"): ("referrals", False, Cap.REFERRALS_VIEW),
    ("POST", "/api/referrals"): ("referrals", True, Cap.INTAKE),
    ("GET", "/api/referrals/{referral_id}"): ("referrals", False, Cap.REFERRALS_VIEW),
    ("POST", "/api/referrals/{referral_id}/transition"): ("referrals", True,
                                                          Cap.REFERRALS_WORK),
    ("GET", "/api/followups"): ("followups", False, Cap.FOLLOWUPS_ALL),
    ("POST", "/api/followups/{followup_id}/complete"): ("followups", True, Cap.FOLLOWUPS_ALL),
    ("POST", "/api/followups/{followup_id}/skip"): ("followups", True, Cap.FOLLOWUPS_ALL),
    ("GET", "/api/reports"): ("reports", False, Cap.REPORTS_VIEW),
    ("GET", "/api/reports/{slug}"): ("reports", False, Cap.REPORTS_VIEW),
}


def _bodies(w: World) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        ("POST", "/api/partners"): {"kind": "clinician", "name": "New <b>partner</b>"},
        ("PATCH", "/api/partners/{partner_id}"): {"phone": "(303) 555-0111"},
        ("POST", "/api/partners/{partner_id}/contacts"): {"name": "New {{ contact }}"},
        ("POST", "/api/referrals"): {"patient_id": w.patient.pk, "source_unknown": True,
                                     "location_id": w.location.pk},
        ("POST", "/api/referrals/{referral_id}/transition"): {"to_status": "contacted"},
        ("POST", "/api/followups/{followup_id}/complete"): {"how": "called"},
        ("POST", "/api/followups/{followup_id}/skip"): {"reason": "Not needed"},
    }


def _values(w: World) -> dict[str, Any]:
    """Path parameters and required query parameters, by name."""
    today = timezone.localdate()
    return {"partner_id": w.partner.pk, "referral_id": w.referral.pk,
            "followup_id": w.followups["admin"].pk, "slug": "partner-health",
            "start": (today - timedelta(days=90)).isoformat(), "end": today.isoformat()}


def _schema() -> dict[str, Any]:
    return rest_api.get_openapi_schema(path_prefix="/api/")


def _operations() -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, ops in _schema()["paths"].items()
                  for method in ops)


def _url(schema: dict[str, Any], method: str, path: str, values: dict[str, Any]) -> str:
    """The path with its ids, and the query parameters the operation requires."""
    url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
    required = [p["name"] for p in schema["paths"][path][method.lower()].get("parameters", [])
                if p["in"] == "query" and p.get("required")]
    return url + ("?" + urlencode({name: values[name] for name in required}) if required
                  else "")


class Keys:
    """Raw keys by (role, variant), made through the real service on first use."""

    def __init__(self, by):
        self.by, self.made = by, {}

    def get(self, role: str, variant: str, resource: str = "") -> str | None:
        if variant == "none":
            return None
        name = (role, variant, resource)
        if name not in self.made:
            resources = ALL_RESOURCES
            if variant == "other resources":
                resources = [r for r in ALL_RESOURCES if r != resource]
            key, raw = api_key_create(
                name=f"{role} {variant} {resource}", role=role, resources=resources,
                can_read=variant != "write only", can_write=variant != "read only", by=self.by)
            if variant == "revoked":
                api_key_revoke(key=key, by=self.by)
            self.made[name] = raw
        return self.made[name]


VARIANTS = ("full", "read only", "write only", "other resources", "revoked", "none")


def _expected(variant: str, role: str, writes: bool, cap: Cap) -> str:
    if variant in ("revoked", "none"):
        return "401"
    if variant == "other resources" or (variant == "read only" and writes) or (
            variant == "write only" and not writes):
        return "403"
    return "2xx" if role in CAPABILITIES[cap] else "403"


def _send(client, method: str, url: str, raw: str | None, body: Any = None,
          content_type: str = "application/json"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    with transaction.atomic():
        if method == "GET":
            response = client.get(url, **headers)
        else:
            data = body if isinstance(body, str) else json.dumps(body or {})
            response = getattr(client, method.lower())(url, data, content_type=content_type,
                                                       **headers)
        transaction.set_rollback(True)
    return response


def _matches(expected: str, status: int) -> bool:
    return 200 <= status < 300 if expected == "2xx" else str(status) == expected


def _problems(response, role: str) -> list[str]:
    body = response.content.decode("utf-8", "replace")
    found = evaluated(body, html=response.get("Content-Type", "").startswith("text/html"))
    if role not in CAPABILITIES[Cap.PATIENTS_VIEW] and PATIENT_MARKER in body:
        found.append("the patient's name")
    return found


def test_every_api_operation_has_a_rule_and_its_parameters_a_value(world):
    operations = _operations()
    schema, values = _schema(), _values(world)
    unfilled = sorted({(method, path, p["name"]) for method, path in operations
                       for p in schema["paths"][path][method.lower()].get("parameters", [])
                       if (p["in"] == "path" or p.get("required")) and p["name"] not in values})
    assert unfilled == [], f"Give these parameters a value in _values ({__file__}): {unfilled}"
    missing = [op for op in operations if op not in API_RULES]
    assert missing == [], (
        f"These API operations have no rule in API_RULES ({__file__}); add the resource, "
        f"read/write and capability each checks: {missing}")
    assert sorted(API_RULES) == operations, "API_RULES names operations that do not exist"


@pytest.mark.parametrize("role", ROLES)
def test_each_api_operation_answers_by_role_and_scope(client, world, role):
    keys = Keys(world.users["admin"])
    bodies, values, schema = _bodies(world), _values(world), _schema()
    wrong, leaks = [], []
    for method, path in _operations():
        resource, writes, cap = API_RULES[(method, path)]
        url = _url(schema, method, path, values)
        for variant in VARIANTS:
            raw = keys.get(role, variant, resource)
            response = _send(client, method, url, raw, bodies.get((method, path)))
            expected = _expected(variant, role, writes, cap)
            if not _matches(expected, response.status_code):
                wrong.append((method, url, role, variant, response.status_code, expected))
            if found := _problems(response, role):
                leaks.append((method, url, role, variant, found))
    assert wrong == [], "wrong (method, url, role, key, status, expected):\n" + "\n".join(
        map(str, wrong))
    assert leaks == [], "hostile text run, or a patient shown:\n" + "\n".join(map(str, leaks))


# --- FHIR and HL7 ----------------------------------------------------------------------

FHIR_ROUTES = [(route, view) for route, view in ROUTES if route.startswith("fhir/")]


# What an endpoint needs to answer at all.
FHIR_QUERY = {"fhir/ServiceRequest/$export": "?start={month_ago}&end={today}"}


def _fhir_body() -> str:
    return (FHIR_GOLDEN / "inbound_practitioner_role.json").read_text()


def test_every_fhir_endpoint_says_which_methods_it_takes():
    assert FHIR_ROUTES, "the walk found no FHIR routes"
    undeclared = [route for route, view in FHIR_ROUTES if not getattr(view, "fhir_methods", ())]
    assert undeclared == [], f"FHIR views not made with fhir_endpoint(): {undeclared}"


@pytest.mark.parametrize("role", ROLES)
def test_each_fhir_endpoint_answers_by_role_and_scope(client, world, role):
    keys = Keys(world.users["admin"])
    wrong, leaks = [], []
    for route, view in FHIR_ROUTES:
        today = timezone.localdate()
        url = _fill(world, route, role) + FHIR_QUERY.get(route, "").format(
            today=today, month_ago=today - timedelta(days=30))
        for method in view.fhir_methods:
            writes = method == "POST"
            cap = Cap.INTAKE if writes else Cap.REFERRALS_VIEW
            for variant in VARIANTS:
                raw = keys.get(role, variant, "fhir")
                response = _send(client, method, url, raw, _fhir_body() if writes else None,
                                 content_type="application/fhir+json")
                expected = (_expected(variant, role, writes, cap) if view.fhir_key_required
                            else "2xx")
                if not _matches(expected, response.status_code):
                    wrong.append((method, url, role, variant, response.status_code, expected))
                if found := _problems(response, role):
                    leaks.append((method, url, role, variant, found))
    assert wrong == [], "wrong (method, url, role, key, status, expected):\n" + "\n".join(
        map(str, wrong))
    assert leaks == [], "hostile text run, or a patient shown:\n" + "\n".join(map(str, leaks))


@pytest.mark.parametrize("role", ROLES)
def test_the_hl7_endpoint_answers_by_role_and_scope(client, world, role):
    routes = [route for route, _view in ROUTES if route.startswith("hl7/")]
    assert routes == ["hl7/"], f"new HL7 routes need a rule here: {routes}"
    keys = Keys(world.users["admin"])
    message = HL7_SAMPLE.read_text().replace("\n", "\r")
    wrong = []
    for variant in VARIANTS:
        raw = keys.get(role, variant, "hl7")
        response = _send(client, "POST", "/hl7/", raw, message,
                         content_type="x-application/hl7-v2+er7")
        expected = _expected(variant, role, True, Cap.INTAKE)
        if not _matches(expected, response.status_code):
            wrong.append(("POST", "/hl7/", role, variant, response.status_code, expected))
    assert wrong == [], "wrong (method, url, role, key, status, expected):\n" + "\n".join(
        map(str, wrong))
