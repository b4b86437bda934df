"""`refnet zip_import FILE`: load ZIP code centroids (practice.ZipCentroid) from a CSV,
such as the Census ZCTA gazetteer, so reports can place patients without geocoding
addresses over the internet.

Columns are found by name, case-insensitive: zip / zcta / zcta5 / zip_code / GEOID;
lat / latitude / INTPTLAT; lng / lon / long / longitude / INTPTLONG; optionally city and
state. Comma or tab separated (the gazetteer is tab separated), with or without a BOM.
A ZIP that lost its leading zeros in a spreadsheet (2134) is padded back (02134); ZIP+4
keeps its first five digits. Good rows are upserted; bad rows are listed by row number
and field, and skipped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from refnet.practice.models import ZipCentroid

HEADERS = {
    "zip_code": ("zip", "zipcode", "zip_code", "zcta", "zcta5", "geoid", "zcta5ce10",
                 "zcta5ce20"),
    "latitude": ("lat", "latitude", "intptlat"),
    "longitude": ("lng", "lon", "long", "longitude", "intptlong", "intptlon"),
    "city": ("city",),
    "state": ("state", "st"),
}
REQUIRED = ("zip_code", "latitude", "longitude")


@dataclass
class ZipFile:
    centroids: dict[str, ZipCentroid] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rows: int = 0


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower().lstrip("\ufeff") for h in header]
    found = {}
    for target, aliases in HEADERS.items():
        for i, name in enumerate(names):
            if name in aliases:
                found[target] = i
                break
    missing = [t for t in REQUIRED if t not in found]
    if missing:
        raise CommandError(
            f"The header has no {' or '.join(missing)} column (found: {', '.join(header)}). "
            "Expected e.g. zip,lat,lng or the gazetteer's GEOID, INTPTLAT, INTPTLONG.")
    return found


def _coordinate(text: str, name: str, limit: int) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{name}: {text.strip()!r} is not a number") from None
    if not value.is_finite() or abs(value) > limit:
        raise ValueError(f"{name}: {text.strip()} is outside -{limit}..{limit}")
    return value.quantize(Decimal("0.000001"))


def _zip(text: str) -> str:
    digits = text.strip().split("-")[0].strip()
    if not digits.isdigit() or not 3 <= len(digits) <= 5:
        raise ValueError(f"zip: {text.strip()!r} is not a 5-digit ZIP code")
    return digits.zfill(5)


def parse_zip_csv(text: str) -> ZipFile:
    """Read the whole file's text; the same ZIP twice keeps the later row."""
    result = ZipFile()
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise CommandError("The file is empty.")
    columns = _columns(header)
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        if not any(cell.strip() for cell in row):
            continue
        result.rows += 1
        try:
            values = {t: row[i] if i < len(row) else "" for t, i in columns.items()}
            code = _zip(values["zip_code"])
            centroid = ZipCentroid(
                zip_code=code,
                latitude=_coordinate(values["latitude"], "lat", 90),
                longitude=_coordinate(values["longitude"], "lng", 180),
                city=values.get("city", "").strip()[:100],
                state=values.get("state", "").strip().upper()[:2],
            )
        except ValueError as error:
            result.errors.append(f"row {number}: {error}")
            continue
        result.centroids[code] = centroid
    return result


@transaction.atomic
def zip_centroids_upsert(*, centroids: list[ZipCentroid]) -> int:
    ZipCentroid.objects.bulk_create(
        centroids, batch_size=2000, update_conflicts=True, unique_fields=["zip_code"],
        update_fields=["latitude", "longitude", "city", "state"])
    return len(centroids)


class Command(BaseCommand):
    help = "Load ZIP code centroids from a CSV (zip, lat, lng; or the Census gazetteer)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text.") from None
        parsed = parse_zip_csv(text)
        for line in parsed.errors:
            self.stderr.write(line)
        if not parsed.centroids:
            raise CommandError(f"No valid rows in {file} ({len(parsed.errors)} bad).")
        existing = set(ZipCentroid.objects.filter(pk__in=list(parsed.centroids))
                       .values_list("pk", flat=True))
        zip_centroids_upsert(centroids=list(parsed.centroids.values()))
        added = len(parsed.centroids) - len(existing)
        self.stdout.write(
            f"Imported {len(parsed.centroids):,} ZIP centroids ({added:,} new, "
            f"{len(existing):,} updated); {len(parsed.errors):,} bad rows skipped.")
