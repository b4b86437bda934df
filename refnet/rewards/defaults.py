"""The compliance caps refnet starts with (COMPLIANCE.md, "Rewards and gifts").

Plain data, so the data migration that seeds them and `caps_ensure_defaults` (run by the
demo after it wipes the tables) read the same list. Each figure is editable by an admin on
/rewards/caps/ with the date it was last reviewed.
"""

from datetime import date
from decimal import Decimal

# key, year (None: not by year), amount, source
DEFAULT_CAPS: list[tuple[str, int | None, Decimal, str]] = [
    ("beneficiary_item", None, Decimal("15.00"),
     "OIG policy statement on nominal value, 81 FR 88368 (Dec 2016): at most $15 per item "
     "to a Medicare/Medicaid beneficiary; never cash or cash equivalents."),
    ("beneficiary_year", None, Decimal("75.00"),
     "OIG policy statement on nominal value, 81 FR 88368 (Dec 2016): at most $75 per "
     "beneficiary per year in total."),
    ("physician_year", 2024, Decimal("507.00"),
     "Stark non-monetary compensation exception, 42 CFR 411.357(k); CMS CY2024 figure."),
    ("physician_year", 2025, Decimal("519.00"),
     "Stark non-monetary compensation exception, 42 CFR 411.357(k); CMS CY2025 figure "
     "(not listed in COMPLIANCE.md: check it against the CMS annual update)."),
    ("physician_year", 2026, Decimal("535.00"),
     "Stark non-monetary compensation exception, 42 CFR 411.357(k); CMS CY2026 figure."),
    ("physician_incidental", 2024, Decimal("44.00"),
     "Stark medical staff incidental benefits, 42 CFR 411.357(m): under about $44 per "
     "occurrence (2024). Shown as a warning; the yearly cap is what refuses."),
]

# The day these defaults were taken from COMPLIANCE.md.
DEFAULTS_REVIEWED_ON = date(2026, 11, 26)
