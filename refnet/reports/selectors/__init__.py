"""Report figures: every report is SQL aggregates (see docs/reports.md).

    table = REPORTS["conversion-by-source"].function(f, user=request.user)

Each report function takes a ReportFilter and the user (who decides whether numbers link
to the patient-level rows behind them) and returns a ReportTable with its ChartSpec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .base import (
    GRANULARITIES,
    Bucket,
    Column,
    ReportFilter,
    ReportTable,
    buckets,
    local_start,
    period_bounds,
    referrals_in,
    stats_in,
)
from .health import loop_health, partner_health
from .origin import distance_band, haversine_miles, patient_origin
from .over_time import BY_OPTIONS as OVER_TIME_BY
from .over_time import referrals_over_time
from .sources import conversion_by_source, leaderboard
from .speed import BY_OPTIONS as SPEED_BY
from .speed import speed


class ReportSpec(NamedTuple):
    title: str
    function: Callable[..., ReportTable]
    # Keyword options the view may pass ("by"), with their allowed values (first: the
    # default), and the granularities the report uses (empty: none, it is per period).
    options: dict[str, tuple[str, ...]]


REPORTS: dict[str, ReportSpec] = {
    "referrals-over-time": ReportSpec("Referrals over time", referrals_over_time,
                                      {"by": OVER_TIME_BY, "granularity": GRANULARITIES}),
    "conversion-by-source": ReportSpec("Conversion by source", conversion_by_source,
                                       {"granularity": ()}),
    "speed": ReportSpec("Speed to contact and visit", speed, {"by": SPEED_BY, "granularity": ()}),
    "partner-health": ReportSpec("Partner health", partner_health, {"granularity": ()}),
    "loop-health": ReportSpec("Loop health: thank-yous and outcome updates", loop_health,
                              {"granularity": ()}),
    "patient-origin": ReportSpec("Where patients come from", patient_origin, {"granularity": ()}),
    "leaderboard": ReportSpec("Referrer leaderboard", leaderboard, {"granularity": ()}),
}

__all__ = [
    "GRANULARITIES", "REPORTS", "Bucket", "Column", "ReportFilter", "ReportSpec", "ReportTable",
    "buckets", "conversion_by_source", "distance_band", "haversine_miles", "leaderboard",
    "local_start", "loop_health", "partner_health", "patient_origin", "period_bounds",
    "referrals_in", "referrals_over_time", "speed", "stats_in",
]
