"""The monthly referral rollup (reports.MonthlyReferralStat) and the stage times it counts.

How the table stays exact after every write (triggers from migration reports/0002, the
same logic on SQLite and PostgreSQL):

1. Each referral contributes one row's worth of counts to the key (received_month,
   location, service line or 0, its source partner's kind, category and owner, or
   '', '', 0 without a source): received +1, contacted +1 if contacted_at is set,
   scheduled and seen likewise, won +1 if its status is closed_won, lost +1 if closed_lost.
2. AFTER INSERT adds the new row's contribution with an upsert (insert the key, or add
   to the counts already there).
3. AFTER DELETE subtracts the old row's contribution the same way.
4. AFTER UPDATE of any column the contribution depends on (month, location, service line,
   source partner, stage times, status), and only when one of them really changed:
   subtract OLD's contribution, add NEW's. A merge that repoints referrals to the
   survivor, or a raw SQL UPDATE of a status, goes through here too.
5. AFTER UPDATE OF kind, category, owner_id on a partner (when one changed): move all its
   referrals' counts from the old dims to the new, with one aggregated upsert per side
   (grouped by month, location, service line), not one per referral.
6. A removed referral (removed_at set, referrals.services.referral_remove) contributes
   nothing: the triggers as migration 0006 made them count a row only while its
   removed_at is empty, and removed_at is one of the columns of step 4, so a removal
   subtracts the referral everywhere and a restore adds it back.
7. Counts may reach 0 and the row stays; readers sum, so an all-zero row is harmless and
   rollup_check() ignores it.

What bypasses the triggers: TRUNCATE, and bulk loads that drop them (`refnet seed`, via
rollup_triggers_dropped()); after those, rollup_rebuild() (`refnet reports_rebuild`)
recomputes the table from scratch in one grouped INSERT ... SELECT.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

# A later stage counts as reaching the earlier ones (booked on the first call means
# contacted then); "closed: did not come" reaches no stage but closed.
STAGE_TIMES: dict[str, tuple[str, ...]] = {
    "contacted": ("contacted_at",),
    "scheduled": ("contacted_at", "scheduled_at"),
    "seen": ("contacted_at", "scheduled_at", "seen_at"),
    "closed_won": ("contacted_at", "scheduled_at", "seen_at", "closed_at"),
    "closed_lost": ("closed_at",),
}
COUNTS = ("received", "contacted", "scheduled", "seen", "won", "lost")
KEY = ("month", "location_id", "service_line_id", "partner_kind", "partner_category",
       "owner_id")


def local_month(moment: datetime) -> int:
    """The practice-local month of a moment as YYYYMM (settings.TIME_ZONE, not the
    user's): 23:30 on January 31 in New York is January, though February in UTC."""
    local = moment.astimezone(timezone.get_default_timezone())
    return local.year * 100 + local.month


def stage_times_fields(to_status: str) -> tuple[str, ...]:
    """The stage-time fields reaching `to_status` sets, if still empty."""
    return STAGE_TIMES.get(to_status, ())


def stamp_stage_times(referral: Any, *, to_status: str, at: datetime) -> list[str]:
    """Set the stage times `to_status` reaches and that are still empty; returns the
    fields set. The first time a stage was reached stands (a re-booking keeps the first
    scheduled_at)."""
    changed = []
    for name in stage_times_fields(to_status):
        if getattr(referral, name) is None:
            setattr(referral, name, at)
            changed.append(name)
    return changed


def _migration() -> Any:
    """The triggers as they stand: migration 0007 (0006's, the builders of 0002, 0004 and
    0005 leaving removed referrals out, and the open status counts of 0007)."""
    # A module name starting with a digit cannot be imported with `import`.
    return importlib.import_module("refnet.reports.migrations.0007_open_status_counts")


def _more() -> Any:
    """Migration 0004: the per-partner, per-ZIP and speed-histogram rollups."""
    return importlib.import_module("refnet.reports.migrations.0004_more_rollup_triggers")


def more_rollups() -> list[Any]:
    """Every rollup kept by 0004-style triggers (each has table, key, counts, selects(),
    upserts()); their selects read referrals as ALL_REFERRALS (`referrals_referral r`)
    and take LIVE in their where, so removed referrals are left out."""
    return list(_migration().ROLLUPS)


ALL_REFERRALS = "referrals_referral r"
# What every rollup select must include in its where: removed referrals count nowhere.
LIVE = "r.removed_at IS NULL"


def _statements() -> tuple[list[str], list[str]]:
    return _migration().statements(connection.vendor)


def _tables() -> list[tuple[str, tuple[str, ...], tuple[str, ...], str]]:
    """Every rollup as (table, key columns, count columns, the grouped SELECT over all
    live referrals that its rows must equal)."""
    rebuild = _migration().REBUILD[1]
    out = [(_migration().STAT, KEY, COUNTS, rebuild[rebuild.index("SELECT"):])]
    for rollup in more_rollups():
        for select in rollup.selects(connection.vendor, ALL_REFERRALS, where=LIVE):
            out.append((rollup.table, rollup.key, rollup.counts, select))
    return out


@transaction.atomic
def rollup_rebuild() -> int:
    """Recompute every rollup table from the referrals; returns the monthly table's row
    count. Blocks referral writes meanwhile on PostgreSQL, so none is counted twice or
    missed."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE referrals_referral, partners_partner, referrals_patient "
                           "IN SHARE MODE")
        for sql in _migration().rebuild_statements(connection.vendor):
            cursor.execute(sql)
        cursor.execute(f"SELECT COUNT(*) FROM {_migration().STAT}")
        return cursor.fetchone()[0]


def _compare(table: str, key: tuple[str, ...], counts: tuple[str, ...],
             selects: list[str]) -> list[str]:
    width = len(key)
    zero = (0,) * len(counts)
    expected: dict[tuple, tuple] = {}
    with connection.cursor() as cursor:
        for select in selects:
            cursor.execute(select)
            for row in cursor.fetchall():
                k = tuple(row[:width])
                have = expected.get(k, zero)
                expected[k] = tuple(a + int(b) for a, b in zip(have, row[width:], strict=True))
        cursor.execute(f"SELECT {', '.join(key + counts)} FROM {table}")
        stored = {tuple(row[:width]): tuple(row[width:]) for row in cursor.fetchall()
                  if any(row[width:])}
    expected = {k: v for k, v in expected.items() if any(v)}
    differences = []
    for k in sorted(set(expected) | set(stored), key=repr):
        want, have = expected.get(k, zero), stored.get(k, zero)
        if want != have:
            where = " ".join(f"{name} {value!r}" for name, value in zip(key, k, strict=True))
            detail = ", ".join(f"{name} {h} (expected {w})"
                               for name, h, w in zip(counts, have, want, strict=True) if h != w)
            differences.append(f"{table}: {where}: {detail}")
    return differences


def rollup_check() -> list[str]:
    """Differences between each rollup table and a fresh aggregate of the referrals, one
    line per key that differs (all-zero rows count as absent); empty when all are exact."""
    grouped: dict[str, tuple[tuple, tuple, list[str]]] = {}
    for table, key, counts, select in _tables():
        grouped.setdefault(table, (key, counts, []))[2].append(select)
    differences = []
    with transaction.atomic():
        for table, (key, counts, selects) in grouped.items():
            differences += _compare(table, key, counts, selects)
    return differences


def rollup_triggers_installed() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' "
                           "AND name LIKE 'reports_rollup_%'")
        else:
            cursor.execute("SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE 'reports_rollup_%'")
        return cursor.fetchone()[0] > 0


def delay_bucket(seconds: int) -> int:
    """The speed histogram's bucket of a delay in whole seconds (migration 0004's
    _bucket, in Python)."""
    more = _more()
    if seconds < 0:
        return 0
    if seconds < more.HOURLY_UNTIL:
        return seconds // 3600
    if seconds < more.DAILY_UNTIL:
        return 46 + seconds // 86400
    return more.OPEN_BUCKET


class RollupTally:
    """Referrals inserted with the insert triggers dropped, counted in Python and added
    to every rollup table at the end: what the AFTER INSERT triggers would have added for
    them, summed per key, written with one executemany upsert per table (keys in order).
    For a bulk insert on SQLite (the import), where a grouped SELECT per table over a
    million new rows costs several seconds each.

    add() takes each batch's referrals as columns; the counting runs in C
    (Counter.update over zip()), so a million referrals cost well under a second. Each
    referral's stages are one tuple (status, contacted bucket, scheduled, seen bucket):
    a bucket is None when that stage time is empty, else delay_bucket(stage time -
    received_at); scheduled is True when scheduled_at is set. A source partner's kind,
    category and owner are read the first time add() sees it, as an insert trigger reads
    them: use it inside the one transaction that inserts the referrals and writes the
    tally, with nothing changing those partners in between."""

    TABLES = ("reports_monthlyreferralstat", "reports_monthlypartnerstat",
              "reports_monthlypartnertotal", "reports_monthlyzipstat",
              "reports_speedhistogram", "reports_openstatuscount")

    def __init__(self) -> None:
        tables = {_migration().STAT} | {rollup.table for rollup in more_rollups()}
        # A rollup added later must be counted here too, or bulk inserts would miss it.
        assert tables == set(self.TABLES), f"RollupTally does not know {tables}"
        # (month, location, source or None, stages) -> referrals: one dictionary
        # operation per referral (a big dictionary costs ~0.7 µs an operation in cache
        # misses; a Counter per count column would cost six).
        self.by_source: Counter = Counter()
        # (month, location, service line or None, (kind, category, owner), zip5, stages)
        self.by_dims: Counter = Counter()
        self.dims: dict[int | None, tuple[str, str, int]] = {None: ("", "", 0)}

    def __bool__(self) -> bool:
        return bool(self.by_source)

    def add(self, months, locations, lines, sources, zip5s, stages) -> None:
        """Referrals as equal-length columns: received_month, location_id,
        service_line_id (or None), source_partner_id (or None), the first five
        characters of the patient's ZIP code ("" for none), stages."""
        dims = self.dims
        new = [pk for pk in set(sources) if pk not in dims]
        with connection.cursor() as cursor:
            for start in range(0, len(new), 500):
                chunk = new[start:start + 500]
                cursor.execute("SELECT id, kind, category, owner_id FROM partners_partner "
                               f"WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)
                for pk, kind, category, owner in cursor.fetchall():
                    dims[pk] = (kind or "", category or "", owner or 0)
        self.by_source.update(zip(months, locations, sources, stages, strict=True))
        self.by_dims.update(zip(months, locations, lines, map(dims.__getitem__, sources),
                                zip5s, stages, strict=True))

    def write(self) -> None:
        """Add the counts to the rollup tables and start again from zero."""
        stat: dict[tuple, list[int]] = {}
        zips: dict[tuple, list[int]] = {}
        speed: dict[tuple, list[int]] = {}

        def counts_of(stages: tuple, n: int) -> tuple:
            status, contacted, scheduled, seen = stages
            return (n, n if contacted is not None else 0, n if scheduled else 0,
                    n if seen is not None else 0, n if status == "closed_won" else 0,
                    n if status == "closed_lost" else 0)

        def add(table: dict, key: tuple, counts: tuple) -> None:
            have = table.get(key)
            if have is None:
                table[key] = list(counts)
            else:
                for i, n in enumerate(counts):
                    have[i] += n

        # Which of COUNTS each distinct stages tuple adds to.
        columns = {stages: tuple(i for i, n in enumerate(counts_of(stages, 1)) if n)
                   for stages in {key[5] for key in self.by_dims}}
        partner: dict[tuple, list[int]] = {}
        for (month, location, source, stages), n in self.by_source.items():
            key = (month, location, source or 0)
            row = partner.get(key)
            if row is None:
                row = partner[key] = [0, 0, 0, 0, 0, 0]
            for i in columns[stages]:
                row[i] += n
        total: dict[tuple, list[int]] = {}
        for (month, _location, source), counts in partner.items():
            add(total, (month, source), counts)
        open_statuses = _migration().OPEN_STATUSES
        by_status: dict[tuple, list[int]] = {}
        for (_month, location, _source, (status, *_times)), n in self.by_source.items():
            if status in open_statuses:
                add(by_status, (location,),
                    tuple(n if status == s else 0 for s in open_statuses))
        for (month, location, line, (kind, category, owner), zip5, stages), n in \
                self.by_dims.items():
            add(stat, (month, location, line or 0, kind, category, owner),
                counts_of(stages, n))
            add(zips, (month, location, zip5, kind, category, owner), (n,))
            _status, contacted, _scheduled, seen = stages
            if contacted is not None:
                add(speed, (month, location, kind, category, owner, "c", contacted), (n,))
            if seen is not None:
                add(speed, (month, location, kind, category, owner, "s", seen), (n,))
        rollups = {rollup.table: rollup for rollup in more_rollups()}
        layouts = [(_migration().STAT, KEY, COUNTS, stat)] + [
            (table, rollups[table].key, rollups[table].counts, rows)
            for table, rows in (("reports_monthlypartnerstat", partner),
                                ("reports_monthlypartnertotal", total),
                                ("reports_monthlyzipstat", zips),
                                ("reports_speedhistogram", speed),
                                ("reports_openstatuscount", by_status))]
        with connection.cursor() as cursor:
            for table, key, counts, rows in layouts:
                if not rows:
                    continue
                columns = key + counts
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))}) "
                    f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
                    + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts),
                    [k + tuple(v) for k, v in rows.items()])
        self.by_source.clear()
        self.by_dims.clear()


@contextmanager
def rollup_triggers_dropped() -> Iterator[None]:
    """For bulk loads: drop the triggers (per-row upserts would slow a load of millions
    several times over), and on exit recreate them and rebuild the table once. Not for use
    while other processes write referrals: their writes would be missed until a rebuild."""
    up, down = _statements()
    with connection.cursor() as cursor:
        for sql in down:
            cursor.execute(sql)
    try:
        yield
    finally:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in up:
                cursor.execute(sql)
        rollup_rebuild()
