"""Prepared statements on PostgreSQL, for the few statements every request or keystroke runs.

PostgreSQL plans every statement it is sent, and for these short reads planning is most
of its work: the session and its user on every request, the inbox count on every page, the
intake page's lists and the "Who can we thank?" search's two statements on every keystroke
(a busy group's 3-minute load: 25 s of planning in 95 s of statement time, 0.8 ms per
request). A statement run through prepared_cursor() is prepared once per connection
(psycopg's `prepare=True`, server-side binding) and then only executed.

Only for statements whose best plan does not depend on the values: after five runs
PostgreSQL may keep a generic plan for good. Not the default for everything: generic
plans of range queries once made the worker's idle tick 1 -> 236 ms (docs/operations.md).
SQLite: Django's own cursor (sqlite3 keeps its own statement cache).
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection as default_connection

_NEVER = 2**31 - 1


class _Logged:
    """What Django's last_executed_query reads of a psycopg cursor: `_query.query`."""

    __slots__ = ("query",)

    def __init__(self, query: bytes | None) -> None:
        self.query = query


@lru_cache(maxsize=1)
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor  # psycopg 3

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=True, binary=None):
            result = super().execute(query, params, prepare=prepare, binary=binary)
            if self._query is None:
                # psycopg leaves _query unset when it runs a prepared statement, and
                # Django's query log (DEBUG, CaptureQueriesContext) reads the SQL there.
                self._query = _Logged(query.encode() if isinstance(query, str) else None)
            return result

    return PreparedCursor


def prepared_cursor(connection=None):
    """A cursor like connection.cursor() (Django's wrapper: errors, health checks, query
    logging all as usual) whose statements PostgreSQL keeps prepared."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return connection.cursor()
    # What BaseDatabaseWrapper._cursor() does, with our cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's preparing off (None), which refuses even prepare=True.
        # A threshold no statement reaches: only ours are prepared (Django's own cursors
        # bind on the client and never prepare).
        raw.prepare_threshold = _NEVER
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_prepared_cursor_class()(raw))
