"""Backfill received_month (practice-local YYYYMM) and the stage times from the timeline.

A stage time is the first event that reached that stage or a later one (booked on the
first call counts as contacted then); "closed: did not come" sets only closed_at. A
referral whose status says it got somewhere without an event saying when (rows written by
hand, say) falls back to status_changed_at. Set-based on both databases: PostgreSQL does
it in one UPDATE; SQLite has no time zones, so the month comes from a small Python
function registered on the connection, cached per hour of UTC text.
"""

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

# to_status values that mean each stage was reached (a later stage implies the earlier).
REACHED = {
    "contacted_at": ("contacted", "scheduled", "seen", "closed_won"),
    "scheduled_at": ("scheduled", "seen", "closed_won"),
    "seen_at": ("seen", "closed_won"),
    "closed_at": ("closed_won", "closed_lost"),
}
ALL_STAGES = ("contacted", "scheduled", "seen", "closed_won", "closed_lost")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _stage_aggregate() -> str:
    """One row per referral with a stage event: the first time it reached each stage."""
    firsts = ", ".join(
        f"MIN(CASE WHEN to_status IN {_in(statuses)} THEN at END) AS {column}"
        for column, statuses in REACHED.items())
    return (f"SELECT referral_id, {firsts} FROM referrals_referralevent "
            f"WHERE to_status IN {_in(ALL_STAGES)} GROUP BY referral_id")


def _fallback(column: str, prefix: str) -> str:
    return (f"CASE WHEN {prefix}status IN {_in(REACHED[column])} "
            f"THEN {prefix}status_changed_at END")


def local_month_function(tz_name: str):
    """refnet_local_month(text) for SQLite: Django's stored UTC text -> local YYYYMM."""
    tz = ZoneInfo(tz_name)

    def month_of(text: str) -> int:
        moment = datetime.fromisoformat(text[:19]).replace(tzinfo=UTC).astimezone(tz)
        return moment.year * 100 + moment.month

    @lru_cache(maxsize=100_000)
    def by_hour(hour_text: str) -> int | None:
        # A month starts at local midnight; in a time zone with a half-hour offset that may
        # fall inside a UTC hour, and then the hour cannot answer for all its minutes.
        first, last = month_of(hour_text + ":00:00"), month_of(hour_text + ":59:59")
        return first if first == last else None

    def local_month(text: str | None) -> int:
        if text is None:
            return 0
        month = by_hour(text[:13])
        return month if month is not None else month_of(text)

    return local_month


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    stamps = ", ".join(
        f"{column} = COALESCE(e.{column}, {_fallback(column, 'r.')})" for column in REACHED)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""UPDATE referrals_referral r SET
                    received_month = to_char(r.received_at AT TIME ZONE %s, 'YYYYMM')::int,
                    {stamps}
                    FROM referrals_referral r2 LEFT JOIN ({_stage_aggregate()}) e
                        ON e.referral_id = r2.id
                    WHERE r2.id = r.id""",
                [settings.TIME_ZONE])
            return
        connection.connection.create_function(
            "refnet_local_month", 1, local_month_function(settings.TIME_ZONE),
            deterministic=True)
        cursor.execute(f"CREATE TEMP TABLE refnet_stage_times AS {_stage_aggregate()}")
        cursor.execute("CREATE UNIQUE INDEX temp.refnet_stage_times_id "
                       "ON refnet_stage_times (referral_id)")
        stamps = ", ".join(
            f"{column} = COALESCE(e.{column}, {_fallback(column, 'referrals_referral.')})"
            for column in REACHED)
        # Rows with events: months and stage times in one pass.
        cursor.execute(
            f"""UPDATE referrals_referral SET
                received_month = refnet_local_month(received_at), {stamps}
                FROM refnet_stage_times e WHERE e.referral_id = referrals_referral.id""")
        # Rows without any stage event: the month, and the status fallback.
        plain = ", ".join(f"{column} = {_fallback(column, '')}" for column in REACHED)
        cursor.execute(
            f"""UPDATE referrals_referral SET
                received_month = refnet_local_month(received_at), {plain}
                WHERE id NOT IN (SELECT referral_id FROM refnet_stage_times)""")
        cursor.execute("DROP TABLE temp.refnet_stage_times")


class Migration(migrations.Migration):
    dependencies = [("referrals", "0003_historicalreferral_closed_at_and_more")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
