"""Partner rows: check each, find duplicates (existing partners and earlier rows of the
same file), and when committing create, merge into or skip.

Duplicates, first rule that matches wins: same NPI; same email (any case); same phone
(last 10 digits); a similar name (rapidfuzz token_sort_ratio >= NAME_MATCH on the folded
names) at the same ZIP code or in the same city. Proposed action: merge (fill the existing
partner's empty fields from the row) for NPI, email and phone; skip for a similar name, which
may be a different person. The user may change each row to merge, skip or new (create it
anyway). Partners are few, so each one goes through partner_create / partner_update (full
validation, history, search index).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from rapidfuzz import fuzz

from refnet.accounts.models import User
from refnet.partners.models import BusinessCategory, Partner, PartnerKind
from refnet.partners.search import fold
from refnet.partners.services import partner_create, partner_update

from . import cleaning
from .cleaning import CellError
from .reading import cell_text

NAME_MATCH = 90
MERGE, SKIP, NEW = "merge", "skip", "new"
ACTIONS = (MERGE, SKIP, NEW)
FIELD_OF = {"kind": "kind", "name": "name", "npi": "npi", "taxonomy": "taxonomy_code",
            "phone": "phone", "fax": "fax", "email": "email", "address": "address_line",
            "city": "city", "state": "state", "zip": "zip_code", "category": "category",
            "cadence": "cadence_days", "notes": "notes"}
TARGET_OF = {v: k for k, v in FIELD_OF.items()}
KIND_SYNONYMS = {"doctor": "clinician", "physician": "clinician", "provider": "clinician",
                 "practice": "medical_practice", "business": "local_business",
                 "patient": "patient_referrer", "community": "community_org",
                 "marketing": "marketing_channel", "gym": "local_business"}


@dataclass
class PartnerIndex:
    """Existing partners (key ("p", id)) and earlier rows of the file (key ("r", line))."""

    by_npi: dict[str, tuple] = field(default_factory=dict)
    by_email: dict[str, tuple] = field(default_factory=dict)
    by_phone: dict[str, tuple] = field(default_factory=dict)
    by_place: dict[str, list[tuple[str, tuple]]] = field(default_factory=dict)
    by_name: dict[str, tuple] = field(default_factory=dict)
    names: dict[tuple, str] = field(default_factory=dict)

    @classmethod
    def existing(cls) -> PartnerIndex:
        index = cls()
        for row in Partner.objects.live().order_by("id").values_list(
                "id", "name", "npi", "phone", "email", "city", "zip_code"):
            index.add(("p", row[0]), *row[1:])
        return index

    def add(self, key: tuple, name: str, npi: str, phone: str, email: str, city: str,
            zip_code: str) -> None:
        folded = fold(name)
        self.names[key] = name
        self.by_name.setdefault(folded, key)
        if npi:
            self.by_npi.setdefault(npi, key)
        if email:
            self.by_email.setdefault(email.strip().lower(), key)
        digits = cleaning.phone_digits(phone or "")
        if len(digits) == 10:
            self.by_phone.setdefault(digits, key)
        for place in self._places(city, zip_code):
            self.by_place.setdefault(place, []).append((folded, key))

    @staticmethod
    def _places(city: str, zip_code: str) -> list[str]:
        places = []
        if zip_code and zip_code[:5].isdigit():
            places.append("z" + zip_code[:5])
        if city and fold(city):
            places.append("c" + fold(city))
        return places

    def find(self, f: dict) -> tuple[tuple, str] | None:
        if f.get("npi") and f["npi"] in self.by_npi:
            return self.by_npi[f["npi"]], "NPI"
        if f.get("email") and f["email"].lower() in self.by_email:
            return self.by_email[f["email"].lower()], "email"
        digits = cleaning.phone_digits(f.get("phone", ""))
        if len(digits) == 10 and digits in self.by_phone:
            return self.by_phone[digits], "phone"
        folded = fold(f.get("name", ""))
        best: tuple[float, tuple] | None = None
        for place in self._places(f.get("city", ""), f.get("zip_code", "")):
            for other, key in self.by_place.get(place, ()):
                score = 100.0 if other == folded else fuzz.token_sort_ratio(folded, other)
                if score >= NAME_MATCH and (best is None or score > best[0]):
                    best = (score, key)
        if best is not None:
            return best[1], f"similar name ({best[0]:.0f}%) in the same place"
        return None


def _users() -> dict[str, User]:
    found: dict[str, User] = {}
    for user in User.objects.filter(is_active=True).order_by("id"):
        found.setdefault(user.username.lower(), user)
        if user.email:
            found.setdefault(user.email.lower(), user)
    return found


def clean_partner_row(run, line: int, cells: list, users: dict[str, User]
                      ) -> tuple[dict, str, User | None] | None:
    """(model fields, organization name, owner) or None after reporting the problems."""
    fields: dict = {}
    bad = False
    simple = {"name": 200, "address": 200, "city": 100, "fax": 30, "notes": 5000}
    for target, max_length in simple.items():
        try:
            fields[FIELD_OF[target]] = cleaning.text(run.cell(cells, target),
                                                     max_length=max_length)
        except CellError as exc:
            run.problem(line, target, str(exc), run.cell(cells, target))
            bad = True
    checks = {"npi": cleaning.npi, "phone": cleaning.phone, "email": cleaning.email,
              "state": cleaning.state, "zip": cleaning.zip_code,
              "taxonomy": lambda v: cell_text(v).upper()}
    for target, check in checks.items():
        try:
            fields[FIELD_OF[target]] = check(run.cell(cells, target))
        except CellError as exc:
            run.problem(line, target, str(exc), run.cell(cells, target))
            bad = True
    try:
        kind = cleaning.choice(run.cell(cells, "kind"), PartnerKind.choices,
                               synonyms=KIND_SYNONYMS)
        if not kind:
            if fields.get("npi"):
                kind = PartnerKind.CLINICIAN
            else:
                raise CellError("is empty; say which kind of partner (allowed: "
                                + ", ".join(PartnerKind.values) + ")")
        fields["kind"] = kind
    except CellError as exc:
        run.problem(line, "kind", str(exc), run.cell(cells, "kind"))
        bad = True
    try:
        fields["category"] = cleaning.choice(run.cell(cells, "category"),
                                             BusinessCategory.choices)
    except CellError as exc:
        run.problem(line, "category", str(exc), run.cell(cells, "category"))
        bad = True
    cadence = cell_text(run.cell(cells, "cadence"))
    if cadence:
        if cadence.isdigit() and 1 <= int(cadence) <= 3650:
            fields["cadence_days"] = int(cadence)
        else:
            run.problem(line, "cadence", f"{cadence!r} is not a number of days (1-3650)",
                        cadence)
            bad = True
    if not fields.get("name"):
        run.problem(line, "name", "is empty; every partner needs a name")
        bad = True
    owner = None
    owner_text = cell_text(run.cell(cells, "owner"))
    if owner_text:
        owner = users.get(owner_text.lower())
        if owner is None:
            run.problem(line, "owner", f"no active user has the user name or email "
                                       f"{owner_text!r}", owner_text)
            bad = True
    if bad:
        return None
    partner = Partner(**fields)
    try:
        partner.full_clean(exclude=["organization", "owner", "patient", "merged_into"],
                           validate_unique=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            target = TARGET_OF.get(name, "")
            run.problem(line, target, " ".join(messages), fields.get(name, ""))
        return None
    fields["category"] = partner.category  # clean() fills "other" for businesses
    return fields, cell_text(run.cell(cells, "organization")), owner


def _fill_empty(partner: Partner, fields: dict, organization, owner) -> dict:
    fill = {}
    for name, value in fields.items():
        if name in ("kind", "name", "cadence_days") or value in ("", None):
            continue
        if name in ("npi", "taxonomy_code") and not partner.is_clinical:
            continue
        if name == "category" and partner.kind not in (PartnerKind.LOCAL_BUSINESS,
                                                       PartnerKind.COMMUNITY_ORG):
            continue
        if not getattr(partner, name):
            fill[name] = value
    if organization is not None and partner.organization_id is None \
            and organization.pk != partner.pk:
        fill["organization"] = organization
    if owner is not None and partner.owner_id is None:
        fill["owner"] = owner
    return fill


def process_partners(run) -> None:
    job = run.job
    index = PartnerIndex.existing()
    users = _users()
    decisions = job.decisions or {}
    default_action = decisions.get("*")
    created: dict[int, Partner] = {}  # file line -> the partner it became
    for line, cells in run.table.rows():
        run.counts["rows"] += 1
        run.tick(run.counts["rows"])
        if isinstance(cells, Exception):
            run.problem(line, "", f"the row cannot be read: {cells}")
            continue
        cleaned = clean_partner_row(run, line, cells, users)
        if cleaned is None:
            continue
        fields, org_name, owner = cleaned
        org_key = None
        if org_name:
            org_key = index.by_name.get(fold(org_name))
            if org_key is None:
                run.problem(line, "organization", f"no partner is called {org_name!r} (add "
                                                  "the organization first, or in an earlier "
                                                  "row)", org_name)
                continue
        match = index.find(fields)
        action = NEW
        if match is not None:
            key, how = match
            proposed = MERGE if not how.startswith("similar") else SKIP
            action = decisions.get(str(line)) or default_action or proposed
            if action not in ACTIONS:
                action = proposed
            run.duplicates.append({
                "line": line, "name": fields["name"], "by": how, "proposed": proposed,
                "action": action, "match_name": index.names.get(key, ""),
                "match_id": key[1] if key[0] == "p" else None,
                "match_line": key[1] if key[0] == "r" else None,
            })
        if action != NEW:
            run.counts["duplicate"] += 1
            if action == MERGE:
                run.counts["merged"] += 1
                if run.commit:
                    _merge(run, line, key, fields, org_key, owner, created)
            else:
                run.counts["skipped"] += 1
            continue
        if run.commit:
            organization = _resolve(org_key, created)
            try:
                with transaction.atomic():
                    partner = partner_create(by=job.by, organization=organization,
                                             owner=owner, **fields)
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    run.problem(line, TARGET_OF.get(name, ""), " ".join(messages))
                continue
            created[line] = partner
        run.counts["ok"] += 1
        index.add(("r", line), fields["name"], fields.get("npi", ""), fields.get("phone", ""),
                  fields.get("email", ""), fields.get("city", ""), fields.get("zip_code", ""))


def _resolve(key: tuple | None, created: dict[int, Partner]) -> Partner | None:
    if key is None:
        return None
    if key[0] == "p":
        return Partner.objects.filter(pk=key[1]).first()
    return created.get(key[1])


def _merge(run, line: int, key: tuple, fields: dict, org_key, owner,
           created: dict[int, Partner]) -> None:
    target = _resolve(key, created)
    if target is None:
        return
    target.refresh_from_db()
    fill = _fill_empty(target, fields, _resolve(org_key, created), owner)
    if not fill:
        return
    try:
        with transaction.atomic():
            partner_update(partner=target, by=run.job.by, **fill)
    except ValidationError as exc:
        target.refresh_from_db()
        for name, messages in exc.message_dict.items():
            run.problem(line, TARGET_OF.get(name, ""), "merging into "
                        f"{target.name!r}: " + " ".join(messages))
