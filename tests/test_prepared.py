"""refnet.prepared: on PostgreSQL the hot reads are prepared once per connection and still
show in Django's query log; elsewhere it is Django's own cursor."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refnet.prepared import prepared_cursor


@pytest.mark.django_db
def test_a_statement_is_prepared_once_and_logged_with_its_sql():
    sql = "SELECT %s + 1"
    with CaptureQueriesContext(connection) as queries:
        for n in range(3):
            with prepared_cursor() as cursor:
                cursor.execute(sql, [n])
                assert cursor.fetchone()[0] == n + 1
    assert [q["sql"] for q in queries.captured_queries if "+ 1" in q["sql"]]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement = %s",
                       ["SELECT $1 + 1"])
        assert cursor.fetchone()[0] == 1
