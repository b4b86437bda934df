"""The CapabilityStatement served at /fhir/metadata: what this server supports, honestly."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .mapping import BSER_SYSTEM, ICD10_SYSTEM, NPI_SYSTEM


def capability_statement(base: str) -> dict[str, Any]:
    search = [
        {"name": "patient", "type": "reference", "documentation": "Patient/<id>"},
        {"name": "status", "type": "token",
         "documentation": "active (received, contacted, scheduled, seen), completed "
                          "(became a patient), revoked (closed without a visit)"},
        {"name": "requester", "type": "reference",
         "documentation": "Practitioner/<id> or Organization/<id> (refnet partner id); "
                          f"requester:identifier={NPI_SYSTEM}|<NPI> also works"},
        {"name": "identifier", "type": "token", "documentation": "system|value"},
        {"name": "_lastUpdated", "type": "date",
         "documentation": "eq/ge/gt/le/lt; when the referral last changed status"},
        {"name": "_count", "type": "number", "documentation": "page size, at most 200"},
        {"name": "_offset", "type": "number", "documentation": "rows to skip"},
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-01-01",
        "kind": "instance",
        "software": {"name": "refnet"},
        "implementation": {"description": f"refnet referral network for "
                                          f"{settings.REFNET_PRACTICE_NAME}", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Authenticate with an API key (Authorization: Bearer <key>) "
                             "scoped to the fhir resource; /metadata needs none.",
            "security": {"description": "API keys; reads need a role that may view "
                                        "referrals, writes one that may record intake."},
            "resource": [
                {
                    "type": "ServiceRequest",
                    "documentation": (
                        "Incoming referrals. subject: a contained Patient (\"#id\") or "
                        "Patient/<id> of a patient known here. requester: a contained "
                        "Practitioner, PractitionerRole (with contained Practitioner and "
                        "Organization) or Organization, or a logical reference with an NPI "
                        f"identifier ({NPI_SYSTEM}). reasonCode: {ICD10_SYSTEM} codes are "
                        "checked. A repeat POST with a known identifier returns the first "
                        "referral (200). GET ServiceRequest/$export?start=&end= returns a "
                        "collection Bundle of a period's referrals."),
                    "interaction": [{"code": "read"}, {"code": "search-type"},
                                    {"code": "create"}],
                    "conditionalCreate": True,
                    "searchParam": search,
                    "operation": [{"name": "export",
                                   "definition": f"{base}/ServiceRequest/$export"}],
                },
                {
                    "type": "Task",
                    "documentation": (
                        "Closed-loop status of each referral: Task/referral-<id>, focus and "
                        f"basedOn ServiceRequest/<id>; businessStatus from {BSER_SYSTEM}. "
                        "Read-only."),
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [
                        {"name": "focus", "type": "reference",
                         "documentation": "ServiceRequest/<id>"},
                        {"name": "status", "type": "token"},
                        {"name": "_lastUpdated", "type": "date"},
                        {"name": "_count", "type": "number"},
                        {"name": "_offset", "type": "number"},
                    ],
                },
            ],
        }],
    }
