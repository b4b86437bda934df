"""Dates as files spell them.

Accepted in any date column, mixed freely: ISO (2024-01-05, 2024-01-05 14:30, 2024/01/05),
day.month.year with dots (05.01.2024, the European spelling), month/day/year or
day/month/year with slashes or dashes (see below), month names (Jan 5, 2024; 5 Jan 2024),
two-digit years (1/5/24: 00-current year's two digits is 20xx, else 19xx), Excel serial
numbers (45292 is 2024-01-01, in the 1900 date system with its leap-year bug: serial 60,
the non-existent 1900-02-29, is refused) and real date cells of a workbook.

Slashes are ambiguous (01/05/2024). The order is decided per column by looking at every
value of the column (`column_order`): day-first if some value can only be day-first (its
first number is over 12) and none can only be month-first; month-first (US) otherwise.
A value that does not fit the column's order is an error on its row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

MDY, DMY = "mdy", "dmy"
ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?"
                 r"(?:\.\d+)?)?$")
SLASHED = re.compile(r"^(\d{1,2})([/-])(\d{1,2})[/-](\d{4}|\d{2})(?: (\d{1,2}):(\d{2})"
                     r"(?::(\d{2}))?)?$")
DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})$")
SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")
NAMED = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%d-%b-%Y")
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_MAX = 2958465  # 9999-12-31


class DateError(ValueError):
    """A message already meant for the user."""


def column_order(values: Iterable) -> str:
    """MDY or DMY for the slashed values of one column."""
    day_first = month_first = False
    for value in values:
        if not isinstance(value, str):
            continue
        m = SLASHED.match(value.strip())
        if m:
            a, b = int(m.group(1)), int(m.group(3))
            day_first |= a > 12 >= b
            month_first |= b > 12 >= a
    return DMY if day_first and not month_first else MDY


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        pivot = date.today().year % 100
        year += 2000 if year <= pivot else 1900
    return year


def excel_serial(number: float) -> datetime:
    if number < 1 or number > EXCEL_MAX:
        raise DateError(f"{number:g} is out of range for an Excel date")
    whole = int(number)
    if whole == 60:
        raise DateError("Excel serial 60 is 1900-02-29, a day that did not exist")
    day = date(1899, 12, 31) + timedelta(days=whole) if whole < 60 else \
        EXCEL_EPOCH + timedelta(days=whole)
    seconds = round((number - whole) * 86400)
    return datetime.combine(day, time()) + timedelta(seconds=seconds)


def parse_moment(value, order: str = MDY) -> datetime | date | None:
    """A date (or a datetime when the cell has a time of day); None for an empty cell.
    Raises ValueError with a message meant for the user."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise DateError("is not a date")
    if isinstance(value, int | float):
        moment = excel_serial(float(value))
        return moment if moment.time() != time() else moment.date()
    text = str(value).strip()
    if not text:
        return None
    try:
        if m := ISO.match(text):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if m.group(4) is not None:
                return datetime(y, mo, d, int(m.group(4)), int(m.group(5)),
                                int(m.group(6) or 0))
            return date(y, mo, d)
        if m := SLASHED.match(text):
            a, b, y = int(m.group(1)), int(m.group(3)), _year(m.group(4))
            month, day = (a, b) if order == MDY else (b, a)
            if month > 12:
                raise DateError(f"{text!r} has month {month}; this column reads "
                                 f"{'month/day/year' if order == MDY else 'day/month/year'}")
            if m.group(5) is not None:
                return datetime(y, month, day, int(m.group(5)), int(m.group(6)),
                                int(m.group(7) or 0))
            return date(y, month, day)
        if m := DOTTED.match(text):
            return date(_year(m.group(3)), int(m.group(2)), int(m.group(1)))
        if SERIAL.match(text):
            moment = excel_serial(float(text))
            return moment if moment.time() != time() else moment.date()
    except DateError:
        raise
    except (ValueError, OverflowError) as exc:
        raise DateError(f"{text!r} is not a real date ({exc})") from None
    for fmt in NAMED:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise DateError(f"{text!r} is not a date (use 2024-01-31, 1/31/2024 or 31.01.2024)")


def parse_date(value, order: str = MDY) -> date | None:
    moment = parse_moment(value, order)
    return moment.date() if isinstance(moment, datetime) else moment
