"""Field types shared by the schemas: strings the databases can store, ids they can look
up, dates they can compute with. Each refuses what would otherwise reach the database and
fail there (a NUL byte on PostgreSQL, a 70-bit id on SQLite, year 9999 plus one day)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from django.utils import timezone
from pydantic import AfterValidator, Field, StringConstraints

MAX_ID = 2**63 - 1
NO_NUL = r"^[^\x00]*$"


def _storable(value: str) -> str:
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("Text must be valid Unicode (no lone surrogates).")
    return value


def Text(max_length: int) -> type[str]:  # noqa: N802 (reads as a type in the schemas)
    return Annotated[  # type: ignore[return-value]
        str, StringConstraints(max_length=max_length, pattern=NO_NUL), AfterValidator(_storable)
    ]


def _sane_day(value: date) -> date:
    if not 1900 <= value.year <= 2200:
        raise ValueError("Give a date between the years 1900 and 2200.")
    return value


def _sane_moment(value: datetime) -> datetime:
    _sane_day(value.date())
    if timezone.is_naive(value):
        value = timezone.make_aware(value)  # the practice's time zone
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Day = Annotated[date, AfterValidator(_sane_day)]
Moment = Annotated[datetime, AfterValidator(_sane_moment)]
Limit = Annotated[int, Field(ge=1, le=200)]
Offset = Annotated[int, Field(ge=0, le=10_000_000)]
