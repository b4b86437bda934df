"""The fields a file can fill, and a mapping suggested from its header.

A mapping is {target field: column header}. Suggestion: each header is normalised (lower
case, accents and punctuation gone); an exact synonym wins (score 100), else the best fuzzy
score (rapidfuzz token_sort_ratio) over the target's synonyms if it is at least
FUZZY_MIN. Pairs are then taken best first, so each column and each field is used once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from refnet.partners.search import fold

from .models import ImportKind, ImportMapping

FUZZY_MIN = 86


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    synonyms: tuple[str, ...]
    required: bool = False


PARTNER_TARGETS = (
    Target("kind", "Kind", ("kind", "type", "partner type", "source type", "category type",
                            "referrer type")),
    Target("name", "Name", ("name", "partner", "partner name", "provider", "provider name",
                            "referrer", "referrer name", "source name", "business name",
                            "full name", "display name", "account name"), required=True),
    Target("organization", "Organization", ("organization", "organisation", "practice",
                                            "practice name", "group", "clinic", "employer",
                                            "affiliation", "org")),
    Target("npi", "NPI", ("npi", "npi number", "national provider identifier", "provider npi",
                          "npi no")),
    Target("taxonomy", "Taxonomy", ("taxonomy", "taxonomy code", "specialty code",
                                    "nucc taxonomy", "primary taxonomy")),
    Target("phone", "Phone", ("phone", "phone number", "telephone", "tel", "office phone",
                              "work phone", "main phone", "phone 1")),
    Target("fax", "Fax", ("fax", "fax number", "fax no", "office fax")),
    Target("email", "Email", ("email", "e mail", "email address", "mail", "e mail address")),
    Target("address", "Address", ("address", "street", "address 1", "address line 1",
                                  "street address", "addr", "address line")),
    Target("city", "City", ("city", "town", "locality")),
    Target("state", "State", ("state", "st", "province", "region", "state code",
                              "state province")),
    Target("zip", "ZIP", ("zip", "zip code", "zipcode", "postal code", "postcode",
                          "postal", "zip postal code")),
    Target("category", "Category", ("category", "business category", "business type",
                                    "segment")),
    Target("owner", "Owner", ("owner", "account owner", "rep", "liaison", "assigned to",
                              "relationship owner", "owner email", "managed by",
                              "account owner email")),
    Target("cadence", "Cadence (days)", ("cadence", "cadence days", "contact every",
                                         "frequency days", "touch frequency")),
    Target("notes", "Notes", ("notes", "note", "comments", "comment", "remarks",
                              "description")),
)

REFERRAL_TARGETS = (
    Target("received", "Received date", ("received", "received date", "date received",
                                         "referral date", "date", "created", "created date",
                                         "order date", "received at"), required=True),
    Target("first_name", "Patient first name", ("first name", "patient first name", "first",
                                                "given name", "fname", "pt first name",
                                                "patient first")),
    Target("last_name", "Patient last name", ("last name", "patient last name", "last",
                                              "surname", "family name", "lname",
                                              "pt last name", "patient last")),
    Target("birth_date", "Birth date", ("birth date", "date of birth", "dob", "birthdate",
                                        "patient dob", "pt dob", "born")),
    Target("sex", "Sex", ("sex", "gender", "patient sex", "patient gender")),
    Target("patient_phone", "Patient phone", ("patient phone", "phone", "pt phone",
                                              "home phone", "mobile", "cell", "cell phone")),
    Target("patient_email", "Patient email", ("patient email", "email", "pt email",
                                              "email address")),
    Target("mrn", "MRN", ("mrn", "medical record number", "chart number", "chart",
                          "patient id", "record number", "chart no", "mrn number")),
    Target("patient_external_id", "Patient id in the source system",
           ("patient external id", "external patient id", "source patient id",
            "their patient id", "referrer mrn")),
    Target("source_name", "Referring partner name",
           ("referring provider", "referred by", "referrer", "referring physician",
            "referral source", "source", "referring doctor", "referring partner",
            "referring provider name", "ref provider", "source name")),
    Target("source_npi", "Referring partner NPI", ("referring npi", "referring provider npi",
                                                   "referrer npi", "source npi", "npi",
                                                   "ref npi")),
    Target("source_text", "How they heard of us (free text)",
           ("how heard", "how did you hear", "heard about us", "source text", "marketing",
            "how did you hear about us", "heard from")),
    Target("location", "Location", ("location", "clinic", "site", "office", "facility",
                                    "location name", "department")),
    Target("service_line", "Service line", ("service line", "service", "specialty",
                                            "program", "service type")),
    Target("reason", "Reason", ("reason", "reason for referral", "referral reason",
                                "chief complaint", "complaint")),
    Target("diagnosis", "Diagnosis", ("diagnosis", "dx", "icd", "icd10", "icd 10",
                                      "diagnosis code", "dx code")),
    Target("priority", "Priority", ("priority", "urgency")),
    Target("status", "Status", ("status", "referral status", "state of referral", "stage")),
    Target("outcome", "Outcome", ("outcome", "result", "disposition", "close reason")),
    Target("row_id", "Row id in the source system", ("id", "referral id", "row id",
                                                     "external id", "record id",
                                                     "order id", "order number",
                                                     "referral number")),
)

TARGETS = {ImportKind.PARTNERS: PARTNER_TARGETS, ImportKind.REFERRALS: REFERRAL_TARGETS}


def targets_for(kind: str) -> tuple[Target, ...]:
    return TARGETS[ImportKind(kind)]


def normalise(header: str) -> str:
    text = fold(header.replace("#", " no "))
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = text.split()
    # "Billing City", "Mailing Zip/Postal Code": the qualifier says nothing about the field.
    if len(words) > 1 and words[0] in QUALIFIERS:
        words = words[1:]
    return " ".join(words)


QUALIFIERS = {"billing", "mailing", "shipping", "primary", "business", "practice"}


def suggest_mapping(kind: str, header: list[str]) -> dict[str, str]:
    """{target: column} for the columns whose names look like a field."""
    scored: list[tuple[float, int, int, str, str]] = []
    targets = targets_for(kind)
    for col_index, column in enumerate(header):
        name = normalise(column)
        if not name:
            continue
        for t_index, target in enumerate(targets):
            best = 0.0
            for synonym in target.synonyms:
                if name == synonym:
                    best = 100.0
                    break
                best = max(best, fuzz.token_sort_ratio(name, synonym))
            if best >= FUZZY_MIN:
                # Ties: earlier column, then the earlier (more specific) target.
                scored.append((-best, col_index, t_index, target.name, column))
    scored.sort()
    mapping: dict[str, str] = {}
    used_columns: set[str] = set()
    for _score, _c, _t, target, column in scored:
        if target in mapping or column in used_columns:
            continue
        mapping[target] = column
        used_columns.add(column)
    order = {t.name: i for i, t in enumerate(targets)}
    return dict(sorted(mapping.items(), key=lambda item: order[item[0]]))


def clean_mapping(kind: str, header: list[str], mapping: dict) -> dict[str, str]:
    """Keep known targets pointing at columns that exist."""
    names = {t.name for t in targets_for(kind)}
    columns = set(header)
    return {t: c for t, c in mapping.items() if t in names and c in columns}


def mapping_for(kind: str, source: str, header: list[str]) -> tuple[dict[str, str], bool]:
    """The saved mapping for this source (its columns that still exist), else a suggestion.
    Returns (mapping, was_saved)."""
    saved = ImportMapping.objects.filter(kind=kind, source=source.strip()).first()
    if saved is not None:
        kept = clean_mapping(kind, header, saved.mapping)
        if kept:
            return kept, True
    return suggest_mapping(kind, header), False


def mapping_save(*, kind: str, source: str, mapping: dict[str, str]) -> ImportMapping:
    saved, _ = ImportMapping.objects.update_or_create(
        kind=kind, source=source.strip(), defaults={"mapping": mapping})
    return saved


def missing_required(kind: str, mapping: dict[str, str]) -> list[str]:
    missing = [t.label for t in targets_for(kind) if t.required and t.name not in mapping]
    if kind == ImportKind.REFERRALS and not (
            "last_name" in mapping or "mrn" in mapping or "patient_external_id" in mapping):
        missing.append("Patient last name (or MRN)")
    return missing
