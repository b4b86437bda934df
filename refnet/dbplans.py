"""Prepared statements on PostgreSQL, and where refnet does without them.

settings.py turns on psycopg's automatic preparation (REFNET_PG_PREPARE_THRESHOLD): a
statement run that many times on a connection is planned once, and after five more runs
PostgreSQL may keep one generic plan for every parameter value. That is what the pages
staff click all day want: their queries look up rows by id or by an indexed filter, and
planning them cost more than running them.

Reports are the opposite: few calls, each over months of rows, where the best plan
depends on the dates and filters given (a seq scan for a year, an index for a day). A
generic plan estimates every range at a default selectivity, so `custom_plans` makes
PostgreSQL plan each report query for its own parameters, as it did before preparation
was turned on. It changes nothing on SQLite.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from django.db import connection

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def planned_each_time() -> Iterator[None]:
    """Statements run inside are neither prepared nor run from a prepared plan."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    saved = raw.prepare_threshold
    raw.prepare_threshold = None  # psycopg: None = never prepare, never use a prepared one
    try:
        yield
    finally:
        if connection.connection is raw:  # not closed and reopened meanwhile
            raw.prepare_threshold = saved


def custom_plans(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a report function: its queries are planned for their own parameters."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with planned_each_time():
            return function(*args, **kwargs)

    return wrapper
