"""Triggers that keep reports_monthlyreferralstat exact, then its first fill.

reports.rollup explains how they work and reuses these statements (the bulk seeder drops
and recreates the triggers; `refnet reports_rebuild` runs REBUILD). Runs after
referrals/0004 so the backfill of months and stage times does not go through them.
"""

from django.db import migrations

STAT = "reports_monthlyreferralstat"
KEY = "month, location_id, service_line_id, partner_kind, partner_category, owner_id"
COUNTS = ("received", "contacted", "scheduled", "seen", "won", "lost")
COLUMNS = f"{KEY}, {', '.join(COUNTS)}"
# Adds the incoming counts to an existing row (the counts may be negative: a subtraction).
UPSERT = f"ON CONFLICT ({KEY}) DO UPDATE SET " + ", ".join(
    f"{c} = {STAT}.{c} + excluded.{c}" for c in COUNTS)
# Which columns a referral's contribution depends on; other updates skip the triggers.
REFERRAL_DIMS = ("received_month", "location_id", "service_line_id", "source_partner_id",
                 "contacted_at", "scheduled_at", "seen_at", "status")
PARTNER_DIMS = ("kind", "category", "owner_id")


# Migration 0006 rebuilds these triggers with live=True: a removed referral
# (removed_at set) contributes nothing. live=False is what this migration installed.
LIVE = "removed_at IS NULL"


def _one(row: str, sign: str, live: bool = False) -> str:
    """One referral's contribution (`row` is NEW or OLD), signed, under its source
    partner's current kind, category and owner (none: '', '', 0)."""
    where = f"{row}.{LIVE}" if live else "true"
    return (
        f"INSERT INTO {STAT} ({COLUMNS}) "
        f"SELECT {row}.received_month, {row}.location_id, COALESCE({row}.service_line_id, 0), "
        "COALESCE(p.kind, ''), COALESCE(p.category, ''), COALESCE(p.owner_id, 0), "
        f"{sign}1, "
        f"CASE WHEN {row}.contacted_at IS NULL THEN 0 ELSE {sign}1 END, "
        f"CASE WHEN {row}.scheduled_at IS NULL THEN 0 ELSE {sign}1 END, "
        f"CASE WHEN {row}.seen_at IS NULL THEN 0 ELSE {sign}1 END, "
        f"CASE WHEN {row}.status = 'closed_won' THEN {sign}1 ELSE 0 END, "
        f"CASE WHEN {row}.status = 'closed_lost' THEN {sign}1 ELSE 0 END "
        f"FROM (SELECT 1 AS one) AS one LEFT JOIN partners_partner p "
        f"ON p.id = {row}.source_partner_id WHERE {where} {UPSERT}"
    )


def _partner_move(row: str, sign: str, live: bool = False) -> str:
    """All of one partner's referrals, aggregated, under `row`'s (OLD or NEW) dims."""
    return (
        f"INSERT INTO {STAT} ({COLUMNS}) "
        f"SELECT r.received_month, r.location_id, COALESCE(r.service_line_id, 0), "
        f"{row}.kind, {row}.category, COALESCE({row}.owner_id, 0), {sign}COUNT(*), "
        f"{sign}COUNT(r.contacted_at), {sign}COUNT(r.scheduled_at), {sign}COUNT(r.seen_at), "
        f"{sign}SUM(CASE WHEN r.status = 'closed_won' THEN 1 ELSE 0 END), "
        f"{sign}SUM(CASE WHEN r.status = 'closed_lost' THEN 1 ELSE 0 END) "
        f"FROM referrals_referral r WHERE r.source_partner_id = NEW.id "
        f"{'AND r.' + LIVE + ' ' if live else ''}"
        f"GROUP BY r.received_month, r.location_id, COALESCE(r.service_line_id, 0) {UPSERT}"
    )


def _changed(columns: tuple[str, ...], distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)


REFERRAL_TRIGGERS = ("reports_rollup_referral_ins", "reports_rollup_referral_upd",
                     "reports_rollup_referral_del")

def _dims(live: bool) -> tuple[str, ...]:
    return REFERRAL_DIMS + (("removed_at",) if live else ())


def sqlite_up(live: bool = False) -> list[str]:
    dims = _dims(live)
    return [
        f"""CREATE TRIGGER reports_rollup_referral_ins AFTER INSERT ON referrals_referral
            BEGIN {_one('NEW', '+', live)}; END""",
        f"""CREATE TRIGGER reports_rollup_referral_del AFTER DELETE ON referrals_referral
            BEGIN {_one('OLD', '-', live)}; END""",
        f"""CREATE TRIGGER reports_rollup_referral_upd
            AFTER UPDATE OF {', '.join(dims)} ON referrals_referral
            WHEN {_changed(dims, 'IS NOT')}
            BEGIN {_one('OLD', '-', live)}; {_one('NEW', '+', live)}; END""",
        f"""CREATE TRIGGER reports_rollup_partner_upd
            AFTER UPDATE OF {', '.join(PARTNER_DIMS)} ON partners_partner
            WHEN {_changed(PARTNER_DIMS, 'IS NOT')}
            BEGIN {_partner_move('OLD', '-', live)}; {_partner_move('NEW', '+', live)}; END""",
    ]


SQLITE_UP = sqlite_up()
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS reports_rollup_referral_ins",
    "DROP TRIGGER IF EXISTS reports_rollup_referral_del",
    "DROP TRIGGER IF EXISTS reports_rollup_referral_upd",
    "DROP TRIGGER IF EXISTS reports_rollup_partner_upd",
]

def pg_up(live: bool = False) -> list[str]:
    dims = _dims(live)
    return [
        f"""CREATE OR REPLACE FUNCTION reports_rollup_referral() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN {_one('OLD', '-', live)}; END IF;
                IF TG_OP <> 'DELETE' THEN {_one('NEW', '+', live)}; END IF;
                RETURN NULL;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION reports_rollup_partner() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {_partner_move('OLD', '-', live)};
                {_partner_move('NEW', '+', live)};
                RETURN NULL;
            END $$""",
        """CREATE TRIGGER reports_rollup_referral_ins AFTER INSERT ON referrals_referral
            FOR EACH ROW EXECUTE FUNCTION reports_rollup_referral()""",
        """CREATE TRIGGER reports_rollup_referral_del AFTER DELETE ON referrals_referral
            FOR EACH ROW EXECUTE FUNCTION reports_rollup_referral()""",
        f"""CREATE TRIGGER reports_rollup_referral_upd
            AFTER UPDATE OF {', '.join(dims)} ON referrals_referral
            FOR EACH ROW WHEN ({_changed(dims, 'IS DISTINCT FROM')})
            EXECUTE FUNCTION reports_rollup_referral()""",
        f"""CREATE TRIGGER reports_rollup_partner_upd
            AFTER UPDATE OF {', '.join(PARTNER_DIMS)} ON partners_partner
            FOR EACH ROW WHEN ({_changed(PARTNER_DIMS, 'IS DISTINCT FROM')})
            EXECUTE FUNCTION reports_rollup_partner()""",
    ]


PG_UP = pg_up()
PG_DOWN = [
    "DROP TRIGGER IF EXISTS reports_rollup_referral_ins ON referrals_referral",
    "DROP TRIGGER IF EXISTS reports_rollup_referral_del ON referrals_referral",
    "DROP TRIGGER IF EXISTS reports_rollup_referral_upd ON referrals_referral",
    "DROP TRIGGER IF EXISTS reports_rollup_partner_upd ON partners_partner",
    "DROP FUNCTION IF EXISTS reports_rollup_referral()",
    "DROP FUNCTION IF EXISTS reports_rollup_partner()",
]

# The whole table from scratch: one pass over the referrals, grouped.
def rebuild(live: bool = False) -> list[str]:
    return [
        f"DELETE FROM {STAT}",
        f"""INSERT INTO {STAT} ({COLUMNS})
            SELECT r.received_month, r.location_id, COALESCE(r.service_line_id, 0),
                   COALESCE(p.kind, ''), COALESCE(p.category, ''), COALESCE(p.owner_id, 0),
                   COUNT(*), COUNT(r.contacted_at), COUNT(r.scheduled_at), COUNT(r.seen_at),
                   SUM(CASE WHEN r.status = 'closed_won' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN r.status = 'closed_lost' THEN 1 ELSE 0 END)
            FROM referrals_referral r LEFT JOIN partners_partner p ON p.id = r.source_partner_id
            WHERE {'r.' + LIVE if live else 'true'}
            GROUP BY r.received_month, r.location_id, COALESCE(r.service_line_id, 0),
                     COALESCE(p.kind, ''), COALESCE(p.category, ''), COALESCE(p.owner_id, 0)""",
    ]


REBUILD = rebuild()

BY_VENDOR = {"sqlite": (SQLITE_UP, SQLITE_DOWN), "postgresql": (PG_UP, PG_DOWN)}


def create_triggers(apps, schema_editor):
    up, _down = BY_VENDOR[schema_editor.connection.vendor]
    with schema_editor.connection.cursor() as cursor:
        for sql in up + REBUILD:
            cursor.execute(sql)


def drop_triggers(apps, schema_editor):
    _up, down = BY_VENDOR[schema_editor.connection.vendor]
    with schema_editor.connection.cursor() as cursor:
        for sql in down:
            cursor.execute(sql)
        cursor.execute(f"DELETE FROM {STAT}")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("referrals", "0004_stage_times_backfill"),
        ("partners", "0002_initial"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
