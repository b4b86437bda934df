"""How many live referrals are in each open status, per location (OpenStatusCount), for
the board's column counts; its triggers and its first fill. Built with migration 0004's
machinery (one grouped SELECT over referral rows, run signed over OLD / NEW by the
referral triggers, unsigned over every live referral by the rebuild), so reports.rollup
drops, recreates, rebuilds, checks and tallies it with the other rollups: this module
adds it to 0006's STATEMENTS, REBUILD and ROLLUPS and reports.rollup reads them from here.

One row per location with a column per open status, not a row per status: a status move
then updates one row (a row per status would lock two, in an order that two opposite
moves, scheduled -> contacted and contacted -> scheduled, could deadlock on)."""

import importlib

from django.db import migrations, models

_m4 = importlib.import_module("refnet.reports.migrations.0004_more_rollup_triggers")
_m6 = importlib.import_module("refnet.reports.migrations.0006_rollups_skip_removed")

OPEN_STATUSES = ("received", "contacted", "scheduled", "seen")


class OpenStatusRollup(_m4.Rollup):
    table = "reports_openstatuscount"
    key = ("location_id",)
    counts = OPEN_STATUSES
    depends = ("location_id", "status")

    def selects(self, vendor, src, sign="", where="true", **dims):
        # Closed referrals add no row: a move to a closed status only subtracts.
        per_status = ", ".join(f"{sign}SUM(CASE WHEN r.status = '{s}' THEN 1 ELSE 0 END)"
                               for s in OPEN_STATUSES)
        statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
        return [f"SELECT r.location_id, {per_status} FROM {src} "
                f"WHERE {where} AND r.status IN ({statuses}) GROUP BY 1"]


OWN_ROLLUPS = (OpenStatusRollup(),)
BY_VENDOR = {
    "sqlite": lambda: _m4.sqlite_statements(OWN_ROLLUPS, (), live=True),
    "postgresql": lambda: _m4.pg_statements(OWN_ROLLUPS, (), live=True),
}

# What reports.rollup reads: every rollup as it stands after this migration.
STAT = _m6.STAT
REBUILD = _m6.REBUILD
ROLLUPS = _m6.ROLLUPS + OWN_ROLLUPS
LIVE = _m6.LIVE


def statements(vendor: str) -> tuple[list[str], list[str]]:
    """(create, drop) for every rollup trigger."""
    up, down = _m6.statements(vendor)
    own_up, own_down = BY_VENDOR[vendor]()
    return up + own_up, down + own_down


def rebuild_statements(vendor: str) -> list[str]:
    return _m6.rebuild_statements(vendor) + _m4.rebuild_statements(vendor, OWN_ROLLUPS,
                                                                   live=True)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    up, _down = BY_VENDOR[vendor]()
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":  # no referral write may slip between fill and trigger
            cursor.execute("LOCK TABLE referrals_referral IN SHARE MODE")
        for sql in up + _m4.rebuild_statements(vendor, OWN_ROLLUPS, live=True):
            cursor.execute(sql)


def drop_triggers(apps, schema_editor):
    _up, down = BY_VENDOR[schema_editor.connection.vendor]()
    with schema_editor.connection.cursor() as cursor:
        for sql in down:
            cursor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0006_rollups_skip_removed"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenStatusCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("location_id", models.BigIntegerField(unique=True)),
                ("received", models.IntegerField(default=0)),
                ("contacted", models.IntegerField(default=0)),
                ("scheduled", models.IntegerField(default=0)),
                ("seen", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
