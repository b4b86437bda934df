"""Triggers that keep the per-partner, per-ZIP and speed-histogram rollups exact, then
their first fill. The same statements on SQLite and PostgreSQL (reports.rollup reuses
them: the bulk seeder drops and recreates the triggers, `refnet reports_rebuild` runs
REBUILD, rollup_check compares each table with its REBUILD select).

Every rollup is "a grouped SELECT over referral rows, signed", used three ways:
- a referral trigger runs it over the one-row relation built from OLD (sign -) and/or
  NEW (sign +) and upserts the result (counts added to the row already there);
- a parent trigger (a partner's kind, a patient's ZIP) runs it over all that parent's
  referrals, with the old value subtracted and the new one added;
- REBUILD runs it over the whole referral table, unsigned, into an emptied table.
"""

from django.db import migrations

# The referral columns any rollup reads, so a trigger's one-row relation has them all.
REF_COLS = ("received_month", "location_id", "service_line_id", "source_partner_id",
            "patient_id", "received_at", "contacted_at", "scheduled_at", "seen_at", "status")

# Delay buckets for the speed histogram (reports.rollup.delay_bucket_bounds mirrors them):
# hours 0..47 -> buckets 0..47; days 2..119 -> buckets 48..165; 120 days or more -> 166.
HOURLY_UNTIL = 2 * 86400
DAILY_UNTIL = 120 * 86400
OPEN_BUCKET = 166


def _seconds(vendor: str, later: str, earlier: str) -> str:
    if vendor == "sqlite":
        return (f"(CAST(strftime('%s', {later}) AS INTEGER) - "
                f"CAST(strftime('%s', {earlier}) AS INTEGER))")
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS BIGINT)"


def _bucket(vendor: str, column: str) -> str:
    d = _seconds(vendor, f"r.{column}", "r.received_at")
    return (f"(CASE WHEN {d} < 0 THEN 0 WHEN {d} < {HOURLY_UNTIL} THEN {d} / 3600 "
            f"WHEN {d} < {DAILY_UNTIL} THEN 46 + {d} / 86400 ELSE {OPEN_BUCKET} END)")


# Migration 0006 rebuilds these triggers with live=True: a removed referral
# (removed_at set) counts nowhere. live=False is what this migration installed.
LIVE = "r.removed_at IS NULL"


def row_source(row: str, live: bool = False) -> str:
    """OLD or NEW as a one-row relation `r` with the referral's columns."""
    cols = REF_COLS + (("removed_at",) if live else ())
    return "(SELECT " + ", ".join(f"{row}.{c} AS {c}" for c in cols) + ") r"


def _live(where: str, live: bool) -> str:
    return f"{where} AND {LIVE}" if live else where


def _depends(rollup: "Rollup", live: bool) -> tuple[str, ...]:
    return rollup.depends + (("removed_at",) if live else ())


ALL_REFERRALS = "referrals_referral r"


class Rollup:
    """One table: its key and count columns, the referral columns its rows depend on, and
    its grouped select."""

    table: str
    key: tuple[str, ...]
    counts: tuple[str, ...]
    depends: tuple[str, ...]

    def selects(self, vendor: str, src: str, sign: str = "", where: str = "true",
                **dims: str) -> list[str]:
        raise NotImplementedError

    def upserts(self, vendor: str, src: str, sign: str, where: str = "true",
                **dims: str) -> list[str]:
        cols = ", ".join(self.key + self.counts)
        update = ", ".join(f"{c} = {self.table}.{c} + excluded.{c}" for c in self.counts)
        return [f"INSERT INTO {self.table} ({cols}) {select} "
                f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {update}"
                for select in self.selects(vendor, src, sign, where, **dims)]

    def rebuild(self, vendor: str, live: bool = False) -> list[str]:
        cols = ", ".join(self.key + self.counts)
        return [f"DELETE FROM {self.table}"] + [
            f"INSERT INTO {self.table} ({cols}) {select}"
            for select in self.selects(vendor, ALL_REFERRALS, where=_live("true", live))]


class PartnerRollup(Rollup):
    table = "reports_monthlypartnerstat"
    key = ("month", "location_id", "partner_id")
    counts = ("received", "contacted", "scheduled", "seen", "won", "lost")
    depends = ("received_month", "location_id", "source_partner_id", "contacted_at",
               "scheduled_at", "seen_at", "status")

    def selects(self, vendor, src, sign="", where="true", **dims):
        return [
            f"SELECT r.received_month, r.location_id, COALESCE(r.source_partner_id, 0), "
            f"{sign}COUNT(*), {sign}COUNT(r.contacted_at), {sign}COUNT(r.scheduled_at), "
            f"{sign}COUNT(r.seen_at), "
            f"{sign}SUM(CASE WHEN r.status = 'closed_won' THEN 1 ELSE 0 END), "
            f"{sign}SUM(CASE WHEN r.status = 'closed_lost' THEN 1 ELSE 0 END) "
            f"FROM {src} WHERE {where} GROUP BY 1, 2, 3"]


# The source partner's kind, category and owner as they are now (none: '', '', 0), or a
# parent trigger's OLD / NEW values of them.
PARTNER_DIMS = "COALESCE(p.kind, ''), COALESCE(p.category, ''), COALESCE(p.owner_id, 0)"


def partner_dims(row: str | None) -> str:
    if row is None:
        return PARTNER_DIMS
    return f"{row}.kind, {row}.category, COALESCE({row}.owner_id, 0)"


class ZipRollup(Rollup):
    table = "reports_monthlyzipstat"
    key = ("month", "location_id", "zip5", "partner_kind", "partner_category", "owner_id")
    counts = ("received",)
    depends = ("received_month", "location_id", "patient_id", "source_partner_id")

    def selects(self, vendor, src, sign="", where="true", zip_code=None, partner=None,
                **dims):
        zip5 = f"COALESCE(SUBSTR({zip_code or 'pt.zip_code'}, 1, 5), '')"
        return [
            f"SELECT r.received_month, r.location_id, {zip5}, {partner_dims(partner)}, "
            f"{sign}COUNT(*) "
            f"FROM {src} LEFT JOIN referrals_patient pt ON pt.id = r.patient_id "
            f"LEFT JOIN partners_partner p ON p.id = r.source_partner_id "
            f"WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6"]


class SpeedRollup(Rollup):
    table = "reports_speedhistogram"
    key = ("month", "location_id", "partner_kind", "partner_category", "owner_id",
           "measure", "bucket")
    counts = ("n",)
    depends = ("received_month", "location_id", "source_partner_id", "received_at",
               "contacted_at", "seen_at")

    def selects(self, vendor, src, sign="", where="true", partner=None, **dims):
        return [
            f"SELECT r.received_month, r.location_id, {partner_dims(partner)}, '{measure}', "
            f"{_bucket(vendor, column)}, {sign}COUNT(*) "
            f"FROM {src} LEFT JOIN partners_partner p ON p.id = r.source_partner_id "
            f"WHERE r.{column} IS NOT NULL AND {where} GROUP BY 1, 2, 3, 4, 5, 7"
            for measure, column in (("c", "contacted_at"), ("s", "seen_at"))]


ROLLUPS = (PartnerRollup(), ZipRollup(), SpeedRollup())
# Parent rows whose change moves a rollup's counts: (rollup, parent table, the parent's
# columns, the referral column pointing at the parent, the select's keyword and how to
# read OLD's / NEW's value for it).
PARENT_MOVES = (
    (ROLLUPS[1], "referrals_patient", ("zip_code",), "patient_id", "zip_code",
     lambda row: f"{row}.zip_code"),
    (ROLLUPS[1], "partners_partner", ("kind", "category", "owner_id"), "source_partner_id",
     "partner", lambda row: row),
    (ROLLUPS[2], "partners_partner", ("kind", "category", "owner_id"), "source_partner_id",
     "partner", lambda row: row),
)


def _short(table: str) -> str:
    return table.removeprefix("reports_")


def _changed(columns, distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)


def sqlite_statements(rollups=ROLLUPS, parent_moves=PARENT_MOVES, live: bool = False
                      ) -> tuple[list[str], list[str]]:
    up, down = [], []
    row_where = _live("true", live)
    for rollup in rollups:
        name = f"reports_rollup_{_short(rollup.table)}"
        depends = _depends(rollup, live)
        ins = "; ".join(rollup.upserts("sqlite", row_source("NEW", live), "+", row_where))
        dele = "; ".join(rollup.upserts("sqlite", row_source("OLD", live), "-", row_where))
        up += [
            f"CREATE TRIGGER {name}_ins AFTER INSERT ON referrals_referral BEGIN {ins}; END",
            f"CREATE TRIGGER {name}_del AFTER DELETE ON referrals_referral BEGIN {dele}; END",
            f"CREATE TRIGGER {name}_upd AFTER UPDATE OF {', '.join(depends)} "
            f"ON referrals_referral WHEN {_changed(depends, 'IS NOT')} "
            f"BEGIN {dele}; {ins}; END",
        ]
        down += [f"DROP TRIGGER IF EXISTS {name}_{op}" for op in ("ins", "del", "upd")]
    for rollup, parent, columns, fk, dim, value in parent_moves:
        name = f"reports_rollup_{_short(rollup.table)}_{parent.split('_', 1)[1]}"
        where = _live(f"r.{fk} = NEW.id", live)
        out = "; ".join(rollup.upserts("sqlite", ALL_REFERRALS, "-", where,
                                       **{dim: value("OLD")}))
        into = "; ".join(rollup.upserts("sqlite", ALL_REFERRALS, "+", where,
                                        **{dim: value("NEW")}))
        up.append(f"CREATE TRIGGER {name} AFTER UPDATE OF {', '.join(columns)} ON {parent} "
                  f"WHEN {_changed(columns, 'IS NOT')} BEGIN {out}; {into}; END")
        down.append(f"DROP TRIGGER IF EXISTS {name}")
    return up, down


def pg_statements(rollups=ROLLUPS, parent_moves=PARENT_MOVES, live: bool = False
                  ) -> tuple[list[str], list[str]]:
    up, down = [], []
    row_where = _live("true", live)
    for rollup in rollups:
        name = f"reports_rollup_{_short(rollup.table)}"
        depends = _depends(rollup, live)
        old = "; ".join(rollup.upserts("postgresql", row_source("OLD", live), "-", row_where))
        new = "; ".join(rollup.upserts("postgresql", row_source("NEW", live), "+", row_where))
        up += [
            f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP <> 'INSERT' THEN {old}; END IF;
                    IF TG_OP <> 'DELETE' THEN {new}; END IF;
                    RETURN NULL;
                END $$""",
            f"CREATE TRIGGER {name}_ins AFTER INSERT ON referrals_referral "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
            f"CREATE TRIGGER {name}_del AFTER DELETE ON referrals_referral "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
            f"CREATE TRIGGER {name}_upd AFTER UPDATE OF {', '.join(depends)} "
            f"ON referrals_referral FOR EACH ROW "
            f"WHEN ({_changed(depends, 'IS DISTINCT FROM')}) "
            f"EXECUTE FUNCTION {name}()",
        ]
        down += [f"DROP TRIGGER IF EXISTS {name}_{op} ON referrals_referral"
                 for op in ("ins", "del", "upd")]
        down.append(f"DROP FUNCTION IF EXISTS {name}()")
    for rollup, parent, columns, fk, dim, value in parent_moves:
        name = f"reports_rollup_{_short(rollup.table)}_{parent.split('_', 1)[1]}"
        where = _live(f"r.{fk} = NEW.id", live)
        out = "; ".join(rollup.upserts("postgresql", ALL_REFERRALS, "-", where,
                                       **{dim: value("OLD")}))
        into = "; ".join(rollup.upserts("postgresql", ALL_REFERRALS, "+", where,
                                        **{dim: value("NEW")}))
        up += [
            f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN {out}; {into}; RETURN NULL; END $$""",
            f"CREATE TRIGGER {name} AFTER UPDATE OF {', '.join(columns)} ON {parent} "
            f"FOR EACH ROW WHEN ({_changed(columns, 'IS DISTINCT FROM')}) "
            f"EXECUTE FUNCTION {name}()",
        ]
        down += [f"DROP TRIGGER IF EXISTS {name} ON {parent}",
                 f"DROP FUNCTION IF EXISTS {name}()"]
    return up, down


BY_VENDOR = {"sqlite": sqlite_statements, "postgresql": pg_statements}


def rebuild_statements(vendor: str, rollups=ROLLUPS, live: bool = False) -> list[str]:
    return [sql for rollup in rollups for sql in rollup.rebuild(vendor, live)]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    up, _down = BY_VENDOR[vendor]()
    with schema_editor.connection.cursor() as cursor:
        for sql in up + rebuild_statements(vendor):
            cursor.execute(sql)


def drop_triggers(apps, schema_editor):
    _up, down = BY_VENDOR[schema_editor.connection.vendor]()
    with schema_editor.connection.cursor() as cursor:
        for sql in down:
            cursor.execute(sql)
        for rollup in ROLLUPS:
            cursor.execute(f"DELETE FROM {rollup.table}")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_more_rollups"),
        ("referrals", "0005_patient_identifier"),
        ("partners", "0002_initial"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
