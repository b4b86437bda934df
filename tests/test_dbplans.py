"""Prepared statements on PostgreSQL: the pages' queries are prepared once they repeat;
report functions (custom_plans) are planned for their own parameters every time."""

from datetime import date

import pytest
from django.conf import settings
from django.db import connection

from refnet.dbplans import custom_plans, planned_each_time
from refnet.practice.models import Location
from refnet.reports.dashboard import dashboard
from refnet.reports.selectors import REPORTS, ReportFilter

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan cache"),
    pytest.mark.django_db,
]

MARK = "refnet_dbplans_probe"


def prepared(mark: str) -> int:
    """Statements of this connection prepared from SQL containing `mark`."""
    with connection.cursor() as cursor, planned_each_time():
        cursor.execute("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       [f"%{mark}%"])
        return cursor.fetchone()[0]


def probe(mark: str, times: int) -> None:
    for n in range(times):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT %s::int AS {mark}", [n])
            assert cursor.fetchone()[0] == n


def test_a_query_that_repeats_is_prepared():
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    probe(MARK, threshold)
    assert prepared(MARK) == 0
    probe(MARK, 2)
    assert prepared(MARK) == 1


def test_custom_plans_prepares_nothing_and_restores_the_threshold():
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]

    @custom_plans
    def report() -> None:
        probe(MARK + "_report", threshold * 3)

    report()
    assert prepared(MARK + "_report") == 0
    assert connection.connection.prepare_threshold == threshold
    probe(MARK + "_after", threshold + 1)
    assert prepared(MARK + "_after") == 1


def test_reports_and_the_dashboard_prepare_nothing_however_often_they_run(django_user_model):
    Location.objects.create(name="Main")
    manager = django_user_model.objects.create(username="m", role="manager")
    month = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
    before = prepared("reports_")  # the rollup tables every report reads
    for _ in range(12):
        for spec in REPORTS.values():
            spec.function(month, user=manager)
        dashboard(month=month.start)
    assert prepared("reports_") == before
