"""The fit score, as pure functions: no database, so every case is a hand-computed test.

How a score is made:

1. Each answered question gives a fraction of its points: a 0–4 scale answer `a` gives
   a/4, yes gives 1 and no 0. An inverted question (they already refer to a competitor)
   gives 1 minus that.
2. Convenience is not answered: the straight-line (haversine) distance from the partner to
   our nearest active location is banded to 0–4 points (DISTANCE_BANDS) and scored like a
   scale answer. Without coordinates it is unknown.
3. Score = 100 × Σ(weight × fraction) / Σ(weight), over the questions that have an answer
   and a weight above 0, rounded half up. Unknown questions are left out of both sums, so
   the score is renormalised over what we know rather than punished for what we don't.
   With nothing known there is no score (None), not a zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

SCALE_MAX = 4
EARTH_RADIUS_MILES = 3958.8

# (up to this many miles, inclusive, -> points out of 4); farther than the last: 0 points.
# A patient will drive a few miles to a practice their clinician or trainer names; past
# about 20 miles most choose someone closer.
DISTANCE_BANDS: tuple[tuple[float, int], ...] = ((2, 4), (5, 3), (10, 2), (20, 1))


@dataclass(frozen=True)
class Criterion:
    code: str
    kind: str  # "scale" | "yes_no" | "distance"
    weight: int
    inverted: bool = False


@dataclass
class ScoreResult:
    score: int | None
    # {code: points earned out of weight}, for the questions that counted
    earned: dict[str, Fraction] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


def distance_points(miles: float | Decimal | None) -> int | None:
    """Points out of 4 for a distance in miles; None when the distance is unknown."""
    if miles is None:
        return None
    for limit, points in DISTANCE_BANDS:
        if float(miles) <= limit:
            return points
    return 0


def nearest(point: tuple[float, float] | None,
            places: Iterable[tuple[object, float, float]]) -> tuple[object, float] | None:
    """(the place, miles) of the nearest of `places` (each (place, lat, lon)) to `point`."""
    if point is None:
        return None
    best: tuple[object, float] | None = None
    for place, lat, lon in places:
        miles = haversine_miles(point[0], point[1], lat, lon)
        if best is None or miles < best[1]:
            best = (place, miles)
    return best


def answer_fraction(criterion: Criterion, answer: int | None,
                    distance_miles: float | Decimal | None = None) -> Fraction | None:
    """The share (0..1) of a question's points that an answer earns; None when unknown."""
    if criterion.kind == "distance":
        points = distance_points(distance_miles)
        value = None if points is None else Fraction(points, SCALE_MAX)
    elif answer is None:
        value = None
    elif criterion.kind == "yes_no":
        value = Fraction(1 if answer else 0)
    else:
        value = Fraction(int(answer), SCALE_MAX)
    if value is not None and criterion.inverted:
        value = 1 - value
    return value


def fit_score(criteria: Iterable[Criterion], answers: Mapping[str, int | None],
              distance_miles: float | Decimal | None = None) -> ScoreResult:
    """The score 0–100 of `answers` ({code: answer}) under the criteria's weights."""
    result = ScoreResult(score=None)
    total_weight = 0
    earned_sum = Fraction(0)
    for criterion in criteria:
        fraction = answer_fraction(criterion, answers.get(criterion.code), distance_miles)
        if fraction is None:
            result.unknown.append(criterion.code)
            continue
        if criterion.weight <= 0:
            continue
        total_weight += criterion.weight
        result.earned[criterion.code] = criterion.weight * fraction
        earned_sum += criterion.weight * fraction
    if total_weight:
        exact = Decimal(earned_sum.numerator * 100) / Decimal(earned_sum.denominator * total_weight)
        result.score = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return result
