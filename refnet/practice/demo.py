"""The demo practice behind `refnet demo`: a sports-and-spine practice in Denver.

Everything is synthetic and generated from one fixed seed, so two builds give the same
names, partners and referral pattern (dates are relative to today).

How a build runs (build_demo):
1. If the database already holds refnet data, stop (unless reset: wipe it first).
2. The practice: three locations, six service lines, one user per role.
3. Plan on paper: ~400 partners of every kind, 6,000 referral dates over 24 months
   (seasonal), who sent each one, and each referral's path through the pipeline.
4. Write: patients in bulk; partners, contacts and aliases through the partner services
   (which keep the search index and the change history); referrals and their timeline
   events in bulk.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any, TextIO

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from refnet.accounts.models import Role, User
from refnet.practice.models import Location, ServiceLine

from . import seed as names

DEMO_SEED = 2026
DEMO_PASSWORD = "refnet-demo-2026"
REFERRALS = 6000

# (username, role, first name, last name, default location index)
DEMO_USERS = [
    ("frontdesk", Role.FRONT_DESK, "Frankie", "Delgado", 0),
    ("coordinator", Role.COORDINATOR, "Corinne", "Ames", 0),
    ("outreach", Role.OUTREACH, "Oscar", "Lindqvist", 1),
    ("manager", Role.MANAGER, "Maya", "Okafor", 0),
    ("admin", Role.ADMIN, "Alan", "Reyes", 2),
]

LOCATIONS = [
    {"name": "Cherry Creek", "address_line": "2955 E 1st Ave, Suite 200", "city": "Denver",
     "state": "CO", "zip_code": "80206", "phone": "(303) 555-0110",
     "latitude": Decimal("39.718420"), "longitude": Decimal("-104.953140")},
    {"name": "Lakewood", "address_line": "7600 W Alameda Ave", "city": "Lakewood",
     "state": "CO", "zip_code": "80226", "phone": "(303) 555-0120",
     "latitude": Decimal("39.711250"), "longitude": Decimal("-105.081400")},
    {"name": "Aurora", "address_line": "14200 E Alameda Ave, Suite 110", "city": "Aurora",
     "state": "CO", "zip_code": "80012", "phone": "(720) 555-0130",
     "latitude": Decimal("39.710600"), "longitude": Decimal("-104.822500")},
]

# ZIP code centroids for the ZIP codes the demo uses (its locations' and its patients'):
# Denver-area codes with synthetic, approximate coordinates near the three locations, so
# "where patients come from" works without a gazetteer (refnet zip_import loads one).
DEMO_ZIP_CENTROIDS = [
    ("80206", "Denver", "39.726600", "-104.952600"),
    ("80209", "Denver", "39.706800", "-104.965200"),
    ("80210", "Denver", "39.678900", "-104.962700"),
    ("80218", "Denver", "39.732700", "-104.971700"),
    ("80203", "Denver", "39.731300", "-104.982700"),
    ("80205", "Denver", "39.759000", "-104.966000"),
    ("80207", "Denver", "39.758000", "-104.918000"),
    ("80220", "Denver", "39.733300", "-104.916400"),
    ("80224", "Denver", "39.688000", "-104.912000"),
    ("80246", "Glendale", "39.705000", "-104.933000"),
    ("80222", "Denver", "39.672000", "-104.927000"),
    ("80231", "Denver", "39.672000", "-104.886000"),
    ("80226", "Lakewood", "39.712000", "-105.087000"),
    ("80214", "Lakewood", "39.743000", "-105.070000"),
    ("80215", "Lakewood", "39.744000", "-105.113000"),
    ("80227", "Lakewood", "39.665000", "-105.104000"),
    ("80228", "Lakewood", "39.696000", "-105.151000"),
    ("80232", "Lakewood", "39.690000", "-105.090000"),
    ("80219", "Denver", "39.696000", "-105.034000"),
    ("80204", "Denver", "39.734000", "-105.019000"),
    ("80401", "Golden", "39.731000", "-105.209000"),
    ("80012", "Aurora", "39.699000", "-104.837000"),
    ("80010", "Aurora", "39.738000", "-104.862000"),
    ("80011", "Aurora", "39.738000", "-104.786000"),
    ("80013", "Aurora", "39.657000", "-104.776000"),
    ("80014", "Aurora", "39.666000", "-104.835000"),
    ("80015", "Aurora", "39.624000", "-104.780000"),
    ("80017", "Aurora", "39.695000", "-104.784000"),
    ("80247", "Denver", "39.697000", "-104.882000"),
    ("80230", "Denver", "39.720000", "-104.895000"),
    ("80016", "Aurora", "39.600000", "-104.710000"),
    ("80112", "Englewood", "39.578000", "-104.858000"),
    ("80113", "Englewood", "39.643000", "-104.966000"),
    ("80120", "Littleton", "39.595000", "-105.011000"),
    ("80123", "Littleton", "39.620000", "-105.090000"),
    ("80002", "Arvada", "39.795000", "-105.098000"),
    ("80033", "Wheat Ridge", "39.772000", "-105.104000"),
    ("80211", "Denver", "39.767000", "-105.020000"),
    ("80212", "Denver", "39.772000", "-105.048000"),
    ("80237", "Denver", "39.644000", "-104.899000"),
]


def ensure_zip_centroids() -> None:
    """Load DEMO_ZIP_CENTROIDS, leaving codes already there (a gazetteer's) alone."""
    from refnet.practice.models import ZipCentroid

    ZipCentroid.objects.bulk_create(
        [ZipCentroid(zip_code=code, city=city, state="CO", latitude=Decimal(lat),
                     longitude=Decimal(lng)) for code, city, lat, lng in DEMO_ZIP_CENTROIDS],
        ignore_conflicts=True)


SERVICE_LINES = [
    ("Physical therapy", "Evaluation and treatment after injury or surgery."),
    ("Sports medicine", "Athletes of every age: injuries, return to play, concussion."),
    ("Orthopaedics", "Joints, spine and bone: consults, injections, surgery."),
    ("Chiropractic", "Spinal manipulation and soft-tissue care."),
    ("Pain management", "Chronic pain programs, injections and medication review."),
    ("Wellness", "Massage, nutrition and movement classes."),
]

# Each location's default assignee, by location: the coordinators work the follow-ups
# (asking a patient again needs someone who may see patients).
DEFAULT_ASSIGNEES = [Role.COORDINATOR, Role.FRONT_DESK, Role.COORDINATOR]

TAGS = ["VIP", "Sports", "Spine", "Holiday card", "Co-marketing", "Lunch & learn"]

# Hand-written partners the demo script talks about; the rest are generated.
PRACTICES = [
    # (name, specialty index in seed.CLINICIAN_SPECIALTIES, home location)
    ("Smith Family Medicine", 0, 0), ("Cherry Creek Family Medicine", 0, 0),
    ("Lakewood Orthopaedic Associates", 2, 1), ("Front Range Chiropractic", 5, 1),
    ("Aurora Pediatrics", 7, 2), ("Highlands Internal Medicine", 1, 0),
    ("Wash Park Physical Therapy", 4, 0), ("Rocky Mountain Women's Health", 8, 2),
    ("Platte River Dental", 12, 0), ("Red Rocks Sports Medicine", 3, 1),
]
CLINICIANS = [
    # (name, specialty index, practice name or "", home location)
    ("John Smith, MD", 0, "Smith Family Medicine", 0),
    ("Jane Smith, DPT", 4, "Wash Park Physical Therapy", 0),
    ("Priya Shah, MD", 2, "Lakewood Orthopaedic Associates", 1),
    ("Marcus Johnson, DC", 5, "Front Range Chiropractic", 1),
    ("Rebecca Nguyen, DPT", 4, "Wash Park Physical Therapy", 0),
    ("Dr. Elena Garcia", 7, "Aurora Pediatrics", 2),
    ("William Chen, DO", 3, "Red Rocks Sports Medicine", 1),
    ("Aisha Okafor, MD", 1, "Highlands Internal Medicine", 0),
]
BUSINESSES = [
    # (name, category, home location, contact name, contact title)
    ("Gold Rush Gym", "gym_trainer", 0, "Jake Morales", "Head trainer"),
    ("Mile High CrossFit", "gym_trainer", 1, "Tasha Green", "Owner"),
    ("Iron Peak Fitness", "gym_trainer", 2, "", ""),
    ("Lakewood High School Athletics", "school_teacher", 1, "Coach Dan Rivera",
     "Athletic director"),
    ("Cherry Creek Elementary", "school_teacher", 0, "", ""),
    ("Peak Running Co.", "shop", 0, "Lena Fischer", "Owner"),
    ("Summit Bike Works", "shop", 1, "", ""),
    ("Front Range Realty Group", "realtor", 2, "Gary Patel", "Broker"),
    ("Sunrise Yoga Studio", "sports_yoga", 0, "Mei Tanaka", "Studio owner"),
    ("Denver Youth Soccer Club", "sports_yoga", 2, "Rosa Martinez", "Director"),
    ("Colfax Coffee House", "other", 0, "", ""),
]
COMMUNITY = [
    ("Aurora Chamber of Commerce", "chamber", 2, "Dana Brooks", "Membership director"),
    ("Lakewood Rotary Club", "chamber", 1, "", ""),
    ("Cherry Creek PTA", "school_teacher", 0, "", ""),
    ("Westside Senior Center", "other", 1, "Harold Kim", "Program coordinator"),
    ("Mile High Running Club", "sports_yoga", 0, "", ""),
]
# (survivor name, duplicate name, kind): left unmerged so the demo can show a merge.
DUPLICATES = [
    ("Cherry Creek Family Medicine", "Cherry Creek Family Med.", "medical_practice"),
    ("Rebecca Nguyen, DPT", "Becky Nguyen PT", "clinician"),
    ("Sunrise Yoga Studio", "Sunrise Yoga", "local_business"),
]
ALIASES = [
    ("Gold Rush Gym", "Golds Gym"), ("Mile High CrossFit", "MHCF"),
    ("Priya Shah, MD", "Dr. Priya"), ("Smith Family Medicine", "Dr. Smith's office"),
    ("Front Range Chiropractic", "FRC Chiro"), ("William Chen, DO", "Dr. Bill"),
]
# How many partners of each kind in all (curated ones included).
KIND_COUNTS = {"marketing_channel": 10, "medical_practice": 40, "clinician": 150,
               "local_business": 95, "community_org": 25, "patient_referrer": 80}
MARKETING = ["Google search", "Website", "Instagram", "Facebook", "Yelp", "Nextdoor",
             "Radio ad", "Billboard on I-25", "Health fair", "Newspaper ad"]
MARKETING_WEIGHT = {"Google search": 60, "Website": 35, "Instagram": 12, "Facebook": 10,
                    "Yelp": 8}


@dataclass
class Practice:
    locations: list[Location]
    service_lines: list[ServiceLine]
    users: dict[str, User]  # role value -> user


def ensure_practice(*, reset_passwords: bool = False) -> Practice:
    """The demo locations, service lines and one user per role, made if missing."""
    locations = []
    for spec in LOCATIONS:
        location, _ = Location.objects.get_or_create(name=spec["name"], defaults=spec)
        locations.append(location)
    lines = [ServiceLine.objects.get_or_create(name=name, defaults={"description": text})[0]
             for name, text in SERVICE_LINES]
    users = {}
    hashed = ""  # one (slow, salted) hash serves every demo user: the password is public
    for username, role, first, last, where in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None or reset_passwords:
            hashed = hashed or make_password(DEMO_PASSWORD)
        if user is None:
            user = User.objects.create(
                username=username, password=hashed, role=role, first_name=first,
                last_name=last, email=f"{username}@demo.example.com",
                is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN,
                default_location=locations[where],
            )
        elif reset_passwords:
            user.password = hashed
            user.role, user.is_active = role, True
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.default_location = locations[where]
            user.save()
        users[role.value] = user
    # Who gets a location's follow-ups when a partner has no owner (issue 3).
    for location, role in zip(locations, DEFAULT_ASSIGNEES, strict=True):
        if location.default_assignee_id is None:
            location.default_assignee = users[role.value]
            location.save(update_fields=["default_assignee"])
    return Practice(locations, lines, users)


def has_data() -> bool:
    from refnet.partners.models import Partner
    from refnet.referrals.models import Patient, Referral

    return Partner.objects.exists() or Referral.objects.exists() or Patient.objects.exists()


def wipe_refnet_data() -> None:
    """Delete every row of the refnet tables, keeping the users and the audit log (which
    is meant to outlive the rows it mentions). Foreign keys are checked at commit on both
    databases, so the order of the deletes does not matter."""
    from .seed import search_index_bulk_load

    existing = set(connection.introspection.table_names())
    labels = {c.label for c in apps.get_app_configs() if c.name.startswith("refnet.")}
    tables = [
        m._meta.db_table for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label in labels - {"accounts"} and m._meta.managed
        and not m._meta.proxy and m._meta.db_table in existing
    ]
    with search_index_bulk_load(), transaction.atomic(), connection.cursor() as cursor:
        User.objects.update(default_location=None)
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


# --- Planning --------------------------------------------------------------------------

@dataclass
class PartnerSpec:
    kind: str
    name: str
    location: int
    category: str = ""
    specialty: int = -1
    practice: str = ""
    contacts: list[tuple[str, str]] = field(default_factory=list)
    weight: float = 0.0  # relative referral volume; 0 = sends nothing
    active_from: int = 10_000  # days ago: referrals only inside [active_to, active_from]
    active_to: int = 0
    cap: int = 1_000_000  # at most this many referrals (patient referrers send a few)
    stage: str = "active"
    patient_no: int | None = None  # patient referrers: index into the planned patients
    fields: dict[str, Any] = field(default_factory=dict)
    sent: int = 0


def _unique(rng: random.Random, taken: set[str], make: Any) -> str:
    for _ in range(50):
        name = make()
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("Could not generate a new unique demo name")


def plan_partners(rng: random.Random) -> list[PartnerSpec]:
    taken: set[str] = set()
    specs: list[PartnerSpec] = []

    def add(spec: PartnerSpec) -> None:
        taken.add(spec.name)
        specs.append(spec)

    for name in MARKETING:
        add(PartnerSpec("marketing_channel", name, 0, weight=MARKETING_WEIGHT.get(name, 3)))
    for name, specialty, where in PRACTICES:
        add(PartnerSpec("medical_practice", name, where, specialty=specialty))
    for name, specialty, practice, where in CLINICIANS:
        add(PartnerSpec("clinician", name, where, specialty=specialty, practice=practice))
    for name, category, where, contact, title in BUSINESSES:
        add(PartnerSpec("local_business", name, where, category=category,
                        contacts=[(contact, title)] if contact else []))
    for name, category, where, contact, title in COMMUNITY:
        add(PartnerSpec("community_org", name, where, category=category,
                        contacts=[(contact, title)] if contact else []))
    for survivor, duplicate, kind in DUPLICATES:
        original = next(s for s in specs if s.name == survivor)
        add(PartnerSpec(kind, duplicate, original.location, category=original.category,
                        specialty=original.specialty))

    def count(kind: str) -> int:
        return sum(1 for s in specs if s.kind == kind)

    specialties = range(len(names.CLINICIAN_SPECIALTIES))
    while count("medical_practice") < KIND_COUNTS["medical_practice"]:
        specialty = rng.choices(specialties, names.CLINICIAN_WEIGHTS)[0]
        label = names.CLINICIAN_SPECIALTIES[specialty][2]
        add(PartnerSpec("medical_practice", _unique(
            rng, taken, lambda label=label: names.practice_name(rng, label)),
            rng.randrange(3), specialty=specialty))
    practices = [s for s in specs if s.kind == "medical_practice"]
    while count("clinician") < KIND_COUNTS["clinician"]:
        specialty = rng.choices(specialties, names.CLINICIAN_WEIGHTS)[0]
        credential = names.CLINICIAN_SPECIALTIES[specialty][1]
        practice = rng.choice(practices) if rng.random() < 0.6 else None
        add(PartnerSpec(
            "clinician", _unique(rng, taken, lambda c=credential: names.clinician_name(rng, c)),
            practice.location if practice else rng.randrange(3), specialty=specialty,
            practice=practice.name if practice else ""))
    categories = list(names.BUSINESS_NAMES)
    while count("local_business") < KIND_COUNTS["local_business"]:
        category = categories[count("local_business") % len(categories)]
        add(PartnerSpec("local_business", _unique(
            rng, taken, lambda c=category: names.business_name(rng, c)), rng.randrange(3),
            category=category))
    while count("community_org") < KIND_COUNTS["community_org"]:
        category = rng.choice(names.COMMUNITY_CATEGORIES)
        add(PartnerSpec("community_org", _unique(
            rng, taken, lambda c=category: names.business_name(rng, c)), rng.randrange(3),
            category=category))
    for number in range(KIND_COUNTS["patient_referrer"]):
        first, last = names.person_name(rng)
        add(PartnerSpec("patient_referrer", f"{first} {last}", rng.randrange(3),
                        patient_no=number, weight=1.0, cap=1 + rng.randrange(4)))
    contact_chance = {"medical_practice": 0.85, "local_business": 0.45, "community_org": 0.6,
                      "clinician": 0.05}
    for spec in specs:
        if spec.contacts or rng.random() >= contact_chance.get(spec.kind, 0.0):
            continue
        for _ in range(1 + (spec.kind == "medical_practice" and rng.random() < 0.35)):
            first, last = names.person_name(rng)
            title = ("Office manager" if not spec.contacts else "Referral coordinator"
                     ) if spec.kind in ("medical_practice", "clinician") else rng.choice(
                ["Owner", "Manager", "Director", "Head trainer", "Program coordinator"])
            spec.contacts.append((f"{first} {last}", title))
    _plan_volume(rng, specs)
    return specs


def _plan_volume(rng: random.Random, specs: list[PartnerSpec]) -> None:
    """Who refers how much and when: prospects send nothing, a few partners went quiet
    four to six months ago, a few are new this half-year, the rest are steady."""
    base = {"clinician": 1.0, "medical_practice": 1.6, "local_business": 0.5,
            "community_org": 0.4}
    quiet = 0
    for i, spec in enumerate(specs):
        if spec.kind in ("marketing_channel", "patient_referrer"):
            continue
        curated = i < len(MARKETING) + len(PRACTICES) + len(CLINICIANS) + len(BUSINESSES) + len(
            COMMUNITY) + len(DUPLICATES)
        roll = rng.random()
        if not curated and roll < 0.22:
            spec.stage = rng.choice(["prospect", "prospect", "contacted", "declined"])
            continue
        spec.weight = base[spec.kind] * min(rng.paretovariate(1.4), 12.0)
        if curated:
            spec.weight = max(spec.weight, base[spec.kind] * 3)
        if not curated and quiet < 14 and spec.kind in ("clinician", "medical_practice",
                                                        "local_business") and roll < 0.32:
            quiet += 1
            spec.active_to = 125 + rng.randrange(55)  # steady, then nothing for 4-6 months
            spec.weight = max(spec.weight, 2.0)
            spec.stage = "dormant" if quiet % 4 == 0 else "active"
        elif not curated and roll < 0.38:
            spec.active_from = 60 + rng.randrange(120)  # new partner this half-year
            spec.stage = "engaged"
    for spec in specs:
        if spec.name in {d for _, d, _ in DUPLICATES}:
            spec.weight, spec.cap = 0.5, 4  # the duplicate caught a few referrals by mistake
    quiet_names = ("Summit Bike Works",)
    for spec in specs:
        if spec.name in quiet_names:
            spec.active_to, spec.weight = 150, 2.0


@dataclass
class ReferralPlan:
    days_ago: int
    source: int | None  # index into the partner specs
    patient_no: int
    source_text: str = ""
    events: list[tuple[datetime, str, str, str, str]] = field(default_factory=list)
    status: str = "received"
    outcome: str = ""
    received_at: datetime | None = None


EVENT_NOTES = {
    "contacted": ["Left voicemail", "Called, patient will check schedule", "Texted intake link",
                  "Spoke with patient"],
    "scheduled": ["Booked initial evaluation", "Booked consult", "Scheduled after insurance "
                  "check"],
    "seen": ["Seen for initial evaluation", "Consult completed"],
    "closed_won": ["Started plan of care", "Became a patient"],
}
LOST_REASONS = {
    "received": ["no_response", "not_a_candidate"],
    "contacted": ["chose_elsewhere", "insurance", "no_response", "not_a_candidate"],
    "scheduled": ["no_show", "chose_elsewhere", "insurance"],
    "seen": ["other", "not_a_candidate"],
}


def plan_path(rng: random.Random, received: datetime, now: datetime
              ) -> tuple[list[tuple[datetime, str, str, str, str]], str, str]:
    """The referral's steps (at, from, to, outcome, note) up to now, its status and outcome.

    Most referrals finish within six weeks, so older ones are mostly closed; a few stall
    at an open step for good, as real pipelines do.
    """
    steps: list[tuple[datetime, str, str, str, str]] = []
    status, outcome, at = "received", "", received
    stall = rng.random() < 0.03
    delays = {"received": (0.05, 3), "contacted": (1, 10), "scheduled": (2, 21),
              "seen": (0.5, 10)}
    lose = {"received": 0.07, "contacted": 0.14, "scheduled": 0.09, "seen": 0.03}
    rescheduled = False
    while status not in ("closed_won", "closed_lost"):
        if stall and status != "received" and rng.random() < 0.5:
            break
        low, high = delays[status]
        at = at + timedelta(days=rng.uniform(low, high))
        if at.weekday() >= 5:
            at += timedelta(days=7 - at.weekday())
        if at > now:
            break
        if rng.random() < lose[status]:
            outcome = rng.choice(LOST_REASONS[status])
            wait = timedelta(days=rng.randrange(5, 15)) if status == "received" else timedelta()
            if at + wait > now:
                break
            steps.append((at + wait, status, "closed_lost", outcome,
                          f"Closed: {outcome.replace('_', ' ')}"))
            status = "closed_lost"
            break
        if status == "scheduled" and not rescheduled and rng.random() < 0.05:
            rescheduled = True
            steps.append((at, status, "contacted", "", "Cancelled; rebooking"))
            status = "contacted"
            continue
        following = {"received": "contacted", "contacted": "scheduled", "scheduled": "seen",
                     "seen": "closed_won"}[status]
        if status == "received" and rng.random() < 0.15:
            following = "scheduled"  # booked on the first call
        note = rng.choice(EVENT_NOTES[following])
        if following == "closed_won":
            outcome = "became_patient"
        steps.append((at, status, following, outcome, note))
        status = following
    return steps, status, outcome


def plan_referrals(rng: random.Random, specs: list[PartnerSpec], today: Any
                   ) -> tuple[list[ReferralPlan], int]:
    """Referral dates, sources and patients; returns the plans and the patient count."""
    days = names.referral_days_ago(rng, REFERRALS, today)
    # Patient referrers were patients first: each has an early referral of their own,
    # and starts sending friends a couple of weeks after it.
    referrers = [s for s in specs if s.kind == "patient_referrer"]
    anchors = sorted(rng.sample(range(int(REFERRALS * 0.6)), len(referrers)))
    anchor_of = {}
    for spec, slot in zip(referrers, anchors, strict=True):
        anchor_of[slot] = spec.patient_no
        spec.active_from = max(days[slot] - 14, 1)
    weights = list(accumulate(s.weight for s in specs))
    plans: list[ReferralPlan] = []
    patient_count = len(referrers)
    for slot, ago in enumerate(days):
        source: int | None = None
        text = ""
        unresolved = rng.random() < (0.06 if ago < 90 else 0.012)
        if not unresolved:
            for _ in range(30):
                index = rng.choices(range(len(specs)), cum_weights=weights)[0]
                spec = specs[index]
                if spec.active_to <= ago <= spec.active_from and spec.sent < spec.cap:
                    source = index
                    spec.sent += 1
                    break
        if source is None:
            text = rng.choice(names.UNRESOLVED_SOURCE_TEXTS)
        elif specs[source].kind not in ("clinician", "medical_practice") and rng.random() < 0.2:
            text = _said(rng, specs[source])
        if slot in anchor_of:
            patient_no = anchor_of[slot]
        elif plans and rng.random() < 0.08:
            patient_no = rng.choice(plans).patient_no  # referred again
        else:
            patient_no = patient_count
            patient_count += 1
        plans.append(ReferralPlan(ago, source, patient_no, text))
    return plans, patient_count


def _said(rng: random.Random, spec: PartnerSpec) -> str:
    """What a patient might say about a known, non-clinical source."""
    name = spec.name
    if spec.kind == "patient_referrer":
        first, _, last = name.partition(" ")
        return rng.choice([f"my friend {first}", name.lower(), f"{first} {last[:1]}.",
                           f"my neighbor {first.lower()}"])
    if spec.kind == "marketing_channel":
        return rng.choice([name.lower(), f"saw you on {name.lower()}", f"found you on {name}"])
    short = " ".join(name.split()[:2]).lower()
    who = {"gym_trainer": "my trainer at", "school_teacher": "a teacher at",
           "sports_yoga": "my coach at"}.get(spec.category, "someone at")
    return rng.choice([name.lower(), f"{who} {short}", f"{short} people"])


# --- Writing ---------------------------------------------------------------------------

# Modules with a `build_demo(*, practice, partners, now, rng, say)` that add their area's
# demo rows after the core ones; run in this order, inside the demo's one transaction.
DEMO_EXTENSIONS: list[str] = [
    "refnet.rewards.demo",
    "refnet.prospects.demo",
    "refnet.outreach.demo",
    "refnet.registry.demo",
    "refnet.updates.demo",
    "refnet.growth.demo",
    "refnet.api.demo",  # integrations: API key, HL7 subscriber, FHIR and HL7 referrals
]


def build_demo(*, reset: bool = False, stream: TextIO | None = None) -> bool:
    """Build the demo practice; False (and nothing done) if data exists and not reset."""
    if has_data() and not reset:
        return False
    if reset:
        wipe_refnet_data()
    with transaction.atomic():
        _build(stream)
    return True


def _build(stream: TextIO | None) -> None:
    from refnet.partners.models import Tag
    from refnet.partners.search import fold
    from refnet.partners.services import contact_create, partner_add_alias, partner_create
    from refnet.referrals.models import Patient

    rng = random.Random(DEMO_SEED)
    now = timezone.now().replace(microsecond=0)
    today = timezone.localdate(now)
    practice = ensure_practice(reset_passwords=True)
    ensure_zip_centroids()
    users = practice.users
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}

    specs = plan_partners(rng)
    plans, patient_count = plan_referrals(rng, specs, today)
    _say(stream, f"Planned {len(specs)} partners, {len(plans)} referrals, "
                 f"{patient_count} patients")

    # Patients first: patient referrers point at theirs.
    first_seen: dict[int, int] = {}
    for plan in plans:
        first_seen.setdefault(plan.patient_no, plan.days_ago)
    patient_rows = [_patient(rng, number, now - timedelta(days=first_seen.get(number, 400)))
                    for number in range(patient_count)]
    for spec in specs:
        if spec.patient_no is not None:
            first, _, last = spec.name.partition(" ")
            row = patient_rows[spec.patient_no]
            row.first_name, row.last_name = first, last
            row.first_name_key, row.last_name_key = fold(first), fold(last)
    patients = Patient.objects.bulk_create(patient_rows, batch_size=1000)

    partners = _create_partners(rng, specs, practice, patients, tags, partner_create, now)
    for spec, partner in zip(specs, partners, strict=True):
        for contact_name, title in spec.contacts:
            contact_create(partner=partner, by=users["outreach"], name=contact_name,
                           title=title, phone=names.phone(rng),
                           email=f"{names.slug(contact_name)}@example.org",
                           is_primary=True)
    by_name = {p.name: p for p in partners}
    for partner_name, alias in ALIASES:
        partner_add_alias(partner=by_name[partner_name], name=alias)
    _say(stream, f"Created {len(partners)} partners with contacts, aliases and search entries")

    referrals, events = _write_referrals(rng, plans, specs, partners, patients, practice, now)
    _say(stream, f"Created {referrals} referrals with {events} timeline events")

    # The referrals above were written in bulk, without the service hooks: one rule pass
    # gives them (and the partners) their follow-ups, so the inbox has work in it.
    from refnet.followups.rules import rules_full_pass

    counts = rules_full_pass(now=now)
    _say(stream, f"Created {counts.get('created', 0)} follow-ups")

    # The manager and outreach get the weekly digest (reports.digest), from next Monday.
    from refnet.reports.digest import digest_subscription_set

    for role in (Role.MANAGER, Role.OUTREACH):
        digest_subscription_set(user=users[role.value], frequency="weekly", now=now)

    # Each area's own demo rows (prospects, events, rewards, the growth plan...).
    for dotted in DEMO_EXTENSIONS:
        module = importlib.import_module(dotted)
        module.build_demo(practice=practice, partners=partners, now=now,
                          rng=random.Random(f"{DEMO_SEED}:{dotted}"), say=lambda t: _say(stream, t))


def _say(stream: TextIO | None, text: str) -> None:
    if stream is not None:
        stream.write(text + "\n")


def _patient(rng: random.Random, number: int, created: datetime) -> Any:
    from refnet.partners.search import fold
    from refnet.referrals.models import Patient

    first, last = names.person_name(rng)
    digits = f"{rng.choice(['303', '720'])}555{rng.randrange(10000):04d}"
    may_thank = rng.random() < 0.45
    home = DEMO_ZIP_CENTROIDS[rng.randrange(len(DEMO_ZIP_CENTROIDS))]  # has a centroid
    patient = Patient(
        mrn=f"D{number + 1:06d}", first_name=first, last_name=last,
        birth_date=datetime(1940 + rng.randrange(70), 1 + rng.randrange(12),
                            1 + rng.randrange(28)).date(),
        sex="F" if rng.random() < 0.52 else "M",
        phone=f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", phone_digits=digits,
        email=f"{names.slug(first)}.{names.slug(last)}{number}@example.com"
        if rng.random() < 0.75 else "",
        address_line=f"{rng.randrange(100, 9999)} {rng.choice(names.STREETS)}",
        city=home[1], state="CO", zip_code=home[0],
        last_name_key=fold(last), first_name_key=fold(first),
        may_thank_referrer=may_thank, may_thank_referrer_at=created if may_thank else None,
        sms_consent=rng.random() < 0.6, federal_program_beneficiary=rng.random() < 0.18,
    )
    return patient


def _create_partners(rng: random.Random, specs: list[PartnerSpec], practice: Practice,
                     patients: Sequence[Any], tags: dict[str, Any], partner_create: Any,
                     now: datetime) -> list[Any]:
    users = practice.users
    by_name: dict[str, Any] = {}
    npis: set[str] = set()
    # Practices before their clinicians, so clinicians can name their organization.
    order = sorted(range(len(specs)), key=lambda i: specs[i].kind != "medical_practice")
    made: dict[int, Any] = {}
    for i in order:
        spec = specs[i]
        location = practice.locations[spec.location]
        fields: dict[str, Any] = {"kind": spec.kind, "name": spec.name, "stage": spec.stage}
        if spec.kind != "marketing_channel":
            lat = float(location.latitude) + rng.uniform(-0.06, 0.06)
            lng = float(location.longitude) + rng.uniform(-0.08, 0.08)
            fields.update(
                address_line=f"{rng.randrange(100, 9999)} {rng.choice(names.STREETS)}",
                city=location.city, state="CO", zip_code=location.zip_code,
                latitude=Decimal(f"{lat:.6f}"), longitude=Decimal(f"{lng:.6f}"),
                phone=names.phone(rng),
                email=f"hello@{names.slug(spec.name)}.example.org",
                owner=users["outreach"] if rng.random() < 0.7 else users["manager"],
                preferred_channel=rng.choice(["email", "email", "phone", "sms"]),
                cadence_days=rng.choice([30, 60, 90, 90, 180]),
                do_not_contact=rng.random() < 0.03,
            )
        else:
            fields["owner"] = users["manager"]
        if spec.kind in ("clinician", "medical_practice"):
            npi = names.make_npi(rng)
            while npi in npis:
                npi = names.make_npi(rng)
            npis.add(npi)
            is_duplicate = spec.name in {d for _, d, _ in DUPLICATES}
            fields.update(
                npi="" if is_duplicate else npi,
                taxonomy_code=names.CLINICIAN_SPECIALTIES[spec.specialty][0]
                if spec.kind == "clinician" else "193400000X",
                fax=names.phone(rng),
                preferred_channel=rng.choice(["fax", "fax", "portal", "letter", "email"]),
                owner=users["coordinator"] if rng.random() < 0.4 else users["outreach"],
            )
            if spec.practice:
                fields["organization"] = by_name[spec.practice]
        if spec.kind in ("medical_practice", "local_business", "community_org"):
            fields["website"] = f"https://www.{names.slug(spec.name)}.example.com"
        if spec.category:
            fields["category"] = spec.category
        if spec.patient_no is not None:
            fields["patient"] = patients[spec.patient_no]
            fields.update(owner=users["front_desk"],
                          preferred_channel="email", address_line="", latitude=None,
                          longitude=None)
        if rng.random() < 0.06:
            fields["notes"] = rng.choice([
                "Prefers lunch drop-offs on Thursdays.", "Send the quarterly outcomes summary.",
                "Met at the spring health fair.", "Ask about co-hosting a workshop.",
            ])
        chosen = [tags[t] for t in TAGS if rng.random() < 0.05]
        if spec.kind in ("clinician", "medical_practice") and spec.specialty in (2, 3):
            chosen.append(tags["Spine" if spec.specialty == 2 else "Sports"])
        partner = partner_create(by=fields["owner"], tags=chosen or None, **fields)
        by_name[spec.name] = partner
        made[i] = partner
    return [made[i] for i in range(len(specs))]


def _write_referrals(rng: random.Random, plans: list[ReferralPlan], specs: list[PartnerSpec],
                     partners: list[Any], patients: Sequence[Any], practice: Practice,
                     now: datetime) -> tuple[int, int]:
    from refnet.partners.models import Contact, Partner
    from refnet.referrals.models import Patient, Referral, ReferralEvent
    from refnet.reports.rollup import local_month, stage_times_fields

    users = practice.users
    lines = {line.name: line for line in practice.service_lines}
    line_list = list(lines.values())
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0)
    contacts: dict[int, list[Any]] = {}
    for contact in Contact.objects.filter(partner__in=partners).order_by("pk"):
        contacts.setdefault(contact.partner_id, []).append(contact)
    rows: list[Referral] = []
    for plan in plans:
        received = midnight - timedelta(days=plan.days_ago,
                                        seconds=-rng.randrange(8 * 3600, 18 * 3600))
        if received > now:
            received = now - timedelta(minutes=5 + rng.randrange(300))
        plan.received_at = received
        plan.events, plan.status, plan.outcome = plan_path(rng, received, now)
        spec = specs[plan.source] if plan.source is not None else None
        partner = partners[plan.source] if plan.source is not None else None
        if spec is not None and spec.specialty >= 0 and rng.random() < 0.75:
            line = lines[names.CLINICIAN_SPECIALTIES[spec.specialty][3]]
        else:
            line = rng.choice(line_list)
        if spec is not None and spec.kind in ("clinician", "medical_practice"):
            channel = rng.choice(["fax", "fax", "fhir", "hl7v2", "phone", "email"])
        elif spec is not None and spec.kind == "marketing_channel" and rng.random() < 0.5:
            channel = "web_form"
        else:
            channel = "front_desk"
        location = (practice.locations[spec.location]
                    if spec is not None and rng.random() < 0.8
                    else rng.choice(practice.locations))
        code, reason = names.ICD10[rng.randrange(len(names.ICD10))]
        changed = plan.events[-1][0] if plan.events else received
        partner_contacts = contacts.get(partner.pk) if partner is not None else None
        # The first time each stage was reached, as referral_transition would have set it.
        stage_times: dict[str, datetime] = {}
        for at, _from, to_status, _outcome, _note in plan.events:
            for name in stage_times_fields(to_status):
                stage_times.setdefault(name, at.replace(microsecond=0))  # as the event
        rows.append(Referral(
            patient=patients[plan.patient_no], source_partner=partner,
            source_contact=rng.choice(partner_contacts)
            if partner_contacts and rng.random() < 0.4 else None,
            source_status="known" if partner else "unresolved", source_text=plan.source_text,
            location=location, service_line=line, channel=channel, received_at=received,
            status=plan.status, status_changed_at=changed, outcome=plan.outcome,
            assigned_to=users["coordinator"] if rng.random() < 0.85 else users["manager"],
            reason=reason, diagnosis=code,
            priority="urgent" if rng.random() < 0.04 else "routine",
            created_by=users["front_desk"] if channel == "front_desk" else users["coordinator"],
            received_month=local_month(received), **stage_times,
        ))
    referrals = Referral.objects.bulk_create(rows, batch_size=1000)
    # bulk_create stamps created_at now: a referral was created when it arrived, and its
    # patient at their first referral.
    Referral.objects.filter(pk__gte=referrals[0].pk).update(created_at=F("received_at"))
    Patient.objects.filter(pk__gte=patients[0].pk).update(created_at=Subquery(
        Referral.objects.filter(patient=OuterRef("pk")).order_by("received_at")
        .values("received_at")[:1]))
    # The timeline is the biggest table (~4 rows a referral): plain rows, written in bulk.
    stamp = names.stamp_for_vendor()
    front, coordinator = users["front_desk"].pk, users["coordinator"].pk
    events = []
    for plan, referral in zip(plans, referrals, strict=True):
        events.append((
            referral.pk, stamp(plan.received_at), referral.created_by_id, "", "received",
            f"Recorded ({referral.get_channel_display()})"
            + ("; source unknown, ask again" if referral.source_partner_id is None else "")))
        for at, from_status, to_status, _outcome, note in plan.events:
            by = front if to_status == "scheduled" and rng.random() < 0.4 else coordinator
            events.append((referral.pk, stamp(at), by, from_status, to_status, note))
    names.TableWriter(ReferralEvent, names.EVENT_FIELDS, stamp(now)).write(
        events, names.Progress("referral events", len(events), None))
    # A partner was in the directory a while before its first referral.
    first_referral: dict[int, datetime] = {}
    for referral in referrals:
        if referral.source_partner_id:
            first_referral.setdefault(referral.source_partner_id, referral.received_at)
    for partner in partners:
        start = first_referral.get(partner.pk, now - timedelta(days=rng.randrange(20, 300)))
        partner.created_at = start - timedelta(days=rng.randrange(15, 120))
    Partner.objects.bulk_update(partners, ["created_at"], batch_size=500)
    return len(referrals), len(events)


def logins_table() -> str:
    """The demo logins, one line per role, with the shared password and what the first log-in
    asks for: managers and admins set up an authenticator app (second factor) the first time."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from refnet.twofactor.policy import role_requires_second_factor

    lines = [f"Demo logins (password for every one: {DEMO_PASSWORD})",
             f"  {'role':<22} {'username':<12} {'default location':<18} {'second factor':<26} "
             "status"]
    known = {u.username: u for u in User.objects.filter(
        username__in=[d[0] for d in DEMO_USERS]).select_related("default_location")}
    enrolled = set(TOTPDevice.objects.filter(user__in=known.values(), confirmed=True)
                   .values_list("user__username", flat=True))
    for username, role, *_ in DEMO_USERS:
        user = known.get(username)
        where = user.default_location.name if user and user.default_location else "-"
        if username in enrolled:
            second = "app set up"
        elif role_requires_second_factor(user or User(role=role)):
            second = "set up at first log-in"
        else:
            second = "optional"
        status = "ready" if user and user.is_active else "missing: run demo --reset"
        lines.append(f"  {role.label:<22} {username:<12} {where:<18} {second:<26} {status}")
    lines += [
        "Managers and admins sign in with a second factor: the first log-in shows a QR code",
        "(and the key as text) for an authenticator app on your phone (Google or Microsoft",
        "Authenticator, 1Password, Aegis, FreeOTP...), then asks for its 6-digit code and",
        "shows one-time backup codes. Lost the phone? An admin resets it under Second factors,",
        "or on the server: refnet second_factor_reset <username> --reason \"...\"",
    ]
    return "\n".join(lines)
