"""Fixtures for the partner screens: dates in the practice's time zone, a row of the directory."""

import re
from datetime import datetime

import pytest
from django.utils import timezone

# Luhn-valid over the 80840 prefix; 1234567890 is the same number with a wrong check digit.
VALID_NPI = "1234567893"
BAD_NPI = "1234567890"


@pytest.fixture
def local_dt():
    """local_dt(2025, 3, 14) -> that day at noon in the practice time zone (settings.TIME_ZONE)."""

    def make(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
        return timezone.make_aware(datetime(year, month, day, hour, minute))

    return make


@pytest.fixture
def directory_row():
    """directory_row(response, partner) -> the HTML of that partner's row, or None."""

    def find(response, partner) -> str | None:
        html = response.content.decode()
        match = re.search(rf'<tr id="partner-{partner.pk}">(.*?)</tr>', html, re.S)
        return match.group(1) if match else None

    return find
