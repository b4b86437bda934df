"""Reads for the finder: registry providers near the practice who complement what it
offers and are not partners yet, ranked.

score = specialty fit x distance factor x organization size factor (x 100, rounded)
- fit: the heaviest complementary pair whose taxonomy (code or prefix) starts the
  provider's PRIMARY taxonomy and that applies to what the practice offers (its keyword is
  in an active service line's name, or blank);
- distance: miles from the ZIP centre to the nearest active location (haversine):
  within 3 mi 1.0, 10 mi 0.8, 25 mi 0.6, farther 0.4; beyond the radius: left out;
- size: individual providers at the practice site: 1 -> 1.0, 2-9 -> 1.2, 10 or more -> 1.4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Q

from refnet.partners.models import Partner
from refnet.practice.models import Location, ServiceLine

from .models import ComplementaryPair, RegistryProvider, Taxonomy

DEFAULT_RADIUS = 25
DISTANCE_BANDS = [(3, 1.0), (10, 0.8), (25, 0.6)]
FAR_FACTOR = 0.4
EARTH_MILES = 3958.8


def distance_factor(miles: float) -> float:
    for limit, factor in DISTANCE_BANDS:
        if miles <= limit:
            return factor
    return FAR_FACTOR


def size_factor(org_size: int) -> float:
    if org_size >= 10:
        return 1.4
    if org_size >= 2:
        return 1.2
    return 1.0


def haversine_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MILES * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class Candidate:
    provider: RegistryProvider
    fit: float
    pair_label: str
    specialty: str
    miles: float
    location: Location
    score: float


def applicable_pairs(service_line: ServiceLine | None = None) -> list[ComplementaryPair]:
    """Pairs that apply to what the practice offers (or to one service line)."""
    lines = [service_line] if service_line else list(ServiceLine.objects.filter(is_active=True))
    names = [s.name.lower() for s in lines]
    return [p for p in ComplementaryPair.objects.all()
            if p.weight > 0 and (not p.practice_offers
                                 or any(p.practice_offers.lower() in n for n in names))]


def finder_locations(location: Location | None = None) -> list[Location]:
    rows = Location.objects.filter(is_active=True, latitude__isnull=False,
                                   longitude__isnull=False)
    if location is not None:
        rows = rows.filter(pk=location.pk)
    return list(rows)


def _box(location: Location, radius: float) -> Q:
    lat, lng = float(location.latitude), float(location.longitude)
    dlat = radius / 69.0
    dlng = radius / max(1.0, 69.17 * math.cos(math.radians(lat)))
    return Q(latitude__range=(lat - dlat, lat + dlat), longitude__range=(lng - dlng, lng + dlng))


def partner_npis() -> set[int]:
    return {int(n) for n in Partner.objects.exclude(npi="").values_list("npi", flat=True)
            if n.isdigit()}


def finder_candidates(*, radius: float = DEFAULT_RADIUS, location: Location | None = None,
                      service_line: ServiceLine | None = None, taxonomy: str = "",
                      entity_type: int | None = None) -> list[Candidate]:
    """Every match, best first (ties: nearer, then name)."""
    locations = finder_locations(location)
    pairs = applicable_pairs(service_line)
    if taxonomy:
        pairs = [p for p in pairs if p.taxonomy == taxonomy]
    if not locations or not pairs:
        return []
    box = Q()
    for loc in locations:
        box |= _box(loc, radius)
    rows = RegistryProvider.objects.filter(box, deactivated=False)
    if entity_type:
        rows = rows.filter(entity_type=entity_type)
    taken = partner_npis()
    best_pair: dict[str, ComplementaryPair | None] = {}
    names = dict(Taxonomy.objects.values_list("code", "display_name"))
    spots = [(float(loc.latitude), float(loc.longitude), loc) for loc in locations]
    found = []
    for provider in rows.iterator(chunk_size=2000):
        if provider.npi in taken:
            continue
        code = provider.primary_taxonomy
        if code not in best_pair:
            matches = [p for p in pairs if code.startswith(p.taxonomy)]
            best_pair[code] = max(matches, key=lambda p: (p.weight, len(p.taxonomy)),
                                  default=None)
        pair = best_pair[code]
        if pair is None:
            continue
        miles, nearest = min(
            ((haversine_miles(provider.latitude, provider.longitude, lat, lng), loc)
             for lat, lng, loc in spots), key=lambda t: t[0])
        if miles > radius:
            continue
        fit = float(pair.weight)
        score = fit * distance_factor(miles) * size_factor(provider.org_size) * 100
        found.append(Candidate(provider=provider, fit=fit, pair_label=pair.label,
                               specialty=names.get(code) or pair.label,
                               miles=round(miles, 1), location=nearest,
                               score=round(score, 1)))
    found.sort(key=lambda c: (-c.score, c.miles, c.provider.name))
    return found


def specialty_choices() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for pair in applicable_pairs():
        seen.setdefault(pair.taxonomy, pair.label)
    return sorted(seen.items(), key=lambda kv: kv[1])


def registry_counts() -> dict[str, int]:
    return {"providers": RegistryProvider.objects.count(),
            "taxonomies": Taxonomy.objects.count()}


