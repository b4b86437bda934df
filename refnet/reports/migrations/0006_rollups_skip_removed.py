"""Every rollup leaves removed referrals out (referrals.services.referral_remove sets
removed_at; a restore clears it).

The triggers of 0002, 0004 and 0005 are dropped and made again from the same builders
with live=True: a referral contributes only while its removed_at is empty, and a change
of removed_at is one of the columns that fire the update triggers (subtract OLD's
contribution, add NEW's), so removing a referral takes it out of every count and
restoring it puts it back. The parent triggers (a partner's kind, a patient's ZIP) move
only live referrals. Then every table is rebuilt once. reports.rollup reads STATEMENTS,
REBUILD and ROLLUPS from here.
"""

import importlib

from django.db import migrations

_m2 = importlib.import_module("refnet.reports.migrations.0002_rollup_triggers")
_m4 = importlib.import_module("refnet.reports.migrations.0004_more_rollup_triggers")
_m5 = importlib.import_module("refnet.reports.migrations.0005_partner_total")

STAT = _m2.STAT
UPSERT = _m2.UPSERT
# The monthly table from scratch, live referrals only.
REBUILD = _m2.rebuild(live=True)
# The 0004-style rollups; their selects take LIVE as (part of) their where.
ROLLUPS = _m4.ROLLUPS + _m5.ROLLUPS
LIVE = _m4.LIVE


def statements(vendor: str) -> tuple[list[str], list[str]]:
    """(create, drop) for every rollup trigger, as they stand after this migration."""
    if vendor == "sqlite":
        up, down = _m2.sqlite_up(live=True), list(_m2.SQLITE_DOWN)
        more = (_m4.sqlite_statements(_m4.ROLLUPS, _m4.PARENT_MOVES, live=True),
                _m4.sqlite_statements(_m5.ROLLUPS, (), live=True))
    else:
        up, down = _m2.pg_up(live=True), list(_m2.PG_DOWN)
        more = (_m4.pg_statements(_m4.ROLLUPS, _m4.PARENT_MOVES, live=True),
                _m4.pg_statements(_m5.ROLLUPS, (), live=True))
    for more_up, more_down in more:
        up += more_up
        down += more_down
    return up, down


def rebuild_statements(vendor: str) -> list[str]:
    return REBUILD + _m4.rebuild_statements(vendor, ROLLUPS, live=True)


def _previous(vendor: str) -> tuple[list[str], list[str]]:
    """(create, drop) as 0002, 0004 and 0005 left them."""
    up, down = _m2.BY_VENDOR[vendor]
    up, down = list(up), list(down)
    for module in (_m4, _m5):
        more_up, more_down = module.BY_VENDOR[vendor]()
        up += more_up
        down += more_down
    return up, down


def _run(cursor, sqls: list[str]) -> None:
    for sql in sqls:
        cursor.execute(sql)


def skip_removed(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    up, _down = statements(vendor)
    _old_up, old_down = _previous(vendor)
    with schema_editor.connection.cursor() as cursor:
        _run(cursor, old_down + up + rebuild_statements(vendor))


def count_removed_again(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _up, down = statements(vendor)
    old_up, _old_down = _previous(vendor)
    rebuild = _m2.REBUILD + _m4.rebuild_statements(vendor, ROLLUPS)
    with schema_editor.connection.cursor() as cursor:
        _run(cursor, down + old_up + rebuild)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_partner_total"),
        ("referrals", "0007_referral_removal"),
    ]

    operations = [migrations.RunPython(skip_removed, count_removed_again)]
