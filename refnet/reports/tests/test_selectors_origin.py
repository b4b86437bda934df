"""Where patients come from: distance bands from each location and the top ZIP codes."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from refnet.practice.models import ZipCentroid
from refnet.reports.selectors import ReportFilter, distance_band, haversine_miles, patient_origin

F = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
WHEN = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def test_haversine_and_bands():
    # New York City to Los Angeles: 2,445 miles on a great circle.
    assert haversine_miles(40.7128, -74.0060, 34.0522, -118.2437) == pytest.approx(2445, abs=5)
    assert haversine_miles(39.799, -89.644, 39.799, -89.644) == 0
    assert distance_band(0) == "0-5 miles"
    assert distance_band(5) == "5-10 miles"
    assert distance_band(19.9) == "10-20 miles"
    assert distance_band(250) == "20+ miles"
    assert distance_band(None) == "Unknown"


@pytest.fixture
def data(make_patient, make_referral, other_location):
    # Main Street Clinic is at 39.7990, -89.6440 (conftest); Westside has no coordinates.
    for zip_code, lat, lng in [("62701", "39.8000", "-89.6500"),  # under a mile
                               ("62702", "39.8900", "-89.6440"),  # about 6.2 miles north
                               ("60601", "41.8860", "-87.6230")]:  # Chicago
        ZipCentroid.objects.create(zip_code=zip_code, latitude=Decimal(lat),
                                   longitude=Decimal(lng))
    for zip_code, n in [("62701", 3), ("62702-1234", 2), ("60601", 1), ("99999", 1), ("", 1)]:
        for _ in range(n):
            make_referral(patient=make_patient(zip_code=zip_code), received_at=WHEN)
    make_referral(patient=make_patient(zip_code="62701"), received_at=WHEN,
                  location=other_location)


def test_patient_origin(data, users):
    table = patient_origin(F, user=users["outreach"])
    bands = {r["group"]: r for r in table.rows if r["_section"] == "Distance band"}
    assert {k: v["total"] for k, v in bands.items()} == {
        "0-5 miles": 3, "5-10 miles": 2, "10-20 miles": 0, "20+ miles": 1,
        "Unknown": 3}  # unknown: ZIP 99999 (no centroid), no ZIP, Westside (no coordinates)
    zips = [(r["group"], r["total"]) for r in table.rows if r["_section"] == "ZIP code"]
    assert zips == [("62701", 4), ("62702", 2), ("60601", 1), ("99999", 1)]
    assert table.totals["total"] == 9
    assert bands["0-5 miles"]["share"] == pytest.approx(3 / 9)
    labels = [c.label for c in table.columns]
    assert labels == ["Distance / ZIP", "Main Street Clinic", "Westside Clinic", "Total", "Share"]
    assert table.chart.labels[0] == "0-5 miles"


def test_patient_origin_empty(db, users):
    table = patient_origin(F, user=users["manager"])
    assert all(r["total"] == 0 for r in table.rows)
    assert table.totals["total"] == 0
