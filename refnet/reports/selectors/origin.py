"""Where patients come from: by distance band from the location that received them, and by
ZIP code.

The database groups referrals by (location, the patient's 5-digit ZIP), from the monthly
ZIP rollup (MonthlyZipStat, kept exact by triggers) for the whole months of the period and
the referral table for the days at its edges (combined.py), or, with a service-line
filter, from the referral table alone; distances are then
computed once per distinct pair (haversine between the location and the ZIP's centroid,
practice.ZipCentroid), never per referral: a practice has a handful of locations and its
patients a few hundred ZIP codes, whatever the number of referrals.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import Substr

from refnet.practice.models import Location, ZipCentroid
from refnet.reports.charts import ChartSpec, Series

from .base import (
    Column,
    ReportFilter,
    ReportTable,
    rate,
    referrals_in,
    zip_stats_in,
)
from .combined import read_parts

EARTH_RADIUS_MILES = 3958.8
# (label, lower bound inclusive, upper bound exclusive) in miles.
BANDS = (("0-5 miles", 0, 5), ("5-10 miles", 5, 10), ("10-20 miles", 10, 20),
         ("20+ miles", 20, math.inf))
UNKNOWN = "Unknown"
ZIP_TOP = 20


def haversine_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(a))


def distance_band(miles: float | None) -> str:
    if miles is None:
        return UNKNOWN
    for label, lo, hi in BANDS:
        if lo <= miles < hi:
            return label
    return UNKNOWN


def _raw_pairs(f: ReportFilter, start: date, end: date) -> list[tuple[int, str, int]]:
    return list(referrals_in(f, start=start, end=end)
                .annotate(zip5=Substr("patient__zip_code", 1, 5))
                .values("location_id", "zip5").annotate(n=Count("id"))
                .values_list("location_id", "zip5", "n"))


def _origin_pairs(f: ReportFilter) -> list[tuple[int, str, int]]:
    """(location, ZIP, referrals). Without a service-line filter, the ZIP rollup for the
    period's whole months and the referral table for its edge days (combined.py: the
    days in the period, or the month's other days subtracted); else the referral table."""
    months, days = (read_parts(f.start, f.end) if not f.service_line_ids
                    else (None, [(1, f.start, f.end)]))
    if months is None:
        return _raw_pairs(f, f.start, f.end)
    cells: dict[tuple[int, str], int] = defaultdict(int)
    for loc, z, n in (zip_stats_in(f, months).values("location_id", "zip5")
                      .annotate(n=Sum("received")).values_list("location_id", "zip5", "n")):
        cells[loc, z] += n
    for sign, a, b in days:
        for loc, z, n in _raw_pairs(f, a, b):
            cells[loc, z or ""] += sign * n
    return [(loc, z, n) for (loc, z), n in cells.items() if n]


def patient_origin(f: ReportFilter, *, user: Any) -> ReportTable:
    """Rows: the distance bands, then the top 20 ZIP codes (section "ZIP code"); columns:
    one per location, the total and its share. Aggregates only: no patient is named."""
    pairs = _origin_pairs(f)
    loc_ids = sorted({loc for loc, _, _ in pairs})
    locations = {loc.pk: loc for loc in Location.objects.filter(pk__in=loc_ids)}
    zips = {z for _, z, _ in pairs if z}
    centroids = {c.zip_code: (float(c.latitude), float(c.longitude))
                 for c in ZipCentroid.objects.filter(zip_code__in=zips)}

    bands: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    by_zip: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for loc_id, zip5, n in pairs:
        loc = locations.get(loc_id)
        miles = None
        if (loc is not None and loc.latitude is not None and loc.longitude is not None
                and zip5 in centroids):
            lat, lng = centroids[zip5]
            miles = haversine_miles(float(loc.latitude), float(loc.longitude), lat, lng)
        bands[distance_band(miles)][loc_id] += n
        by_zip[zip5 or UNKNOWN][loc_id] += n

    grand = sum(n for _, _, n in pairs)
    keys = {loc_id: f"loc{loc_id}" for loc_id in loc_ids}

    def row(section: str, label: str, cells: dict[int, int]) -> dict[str, Any]:
        total = sum(cells.values())
        out = {"_section": section, "group": label, "total": total,
               "share": rate(total, grand), "_links": {}}
        for loc_id, key in keys.items():
            out[key] = cells.get(loc_id, 0)
        return out

    rows = [row("Distance band", label, bands.get(label, {}))
            for label in [b[0] for b in BANDS] + [UNKNOWN]]
    top_zips = sorted((z for z in by_zip if z != UNKNOWN),
                      key=lambda z: (-sum(by_zip[z].values()), z))[:ZIP_TOP]
    rows += [row("ZIP code", z, by_zip[z]) for z in top_zips]
    columns = [Column("group", "Distance / ZIP")]
    columns += [Column(keys[loc_id], locations[loc_id].name if loc_id in locations
                       else f"Location {loc_id}", "int") for loc_id in loc_ids]
    columns += [Column("total", "Total", "int"), Column("share", "Share", "pct")]
    band_rows = rows[: len(BANDS) + 1]
    chart = ChartSpec(
        kind="stacked", title="Referrals by distance from the location",
        labels=[r["group"] for r in band_rows],
        series=[Series(locations[loc_id].name if loc_id in locations else str(loc_id),
                       [r[keys[loc_id]] for r in band_rows]) for loc_id in loc_ids],
        unit="referrals")
    totals = {"group": "Total", "total": grand, "share": 1.0 if grand else None,
              **{keys[loc_id]: sum(bands[b][loc_id] for b in bands) for loc_id in loc_ids}}
    return ReportTable(
        title="Where patients come from", columns=columns, rows=rows, chart=chart,
        totals=totals, filters=f,
        note="Straight-line distance from the location that received the referral to the "
             "centre of the patient's ZIP code. Unknown: no ZIP, a ZIP without a centroid "
             "(refnet zip_import), or a location without coordinates.")
