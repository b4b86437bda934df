"""`refnet backup` and `refnet restore` (docs/audit.md, "Backups").

SQLite: the online backup API (sqlite3.Connection.backup) copies a consistent snapshot
while the app keeps running: WAL readers and the writer are not stopped, and the copy is
the database as of one moment. PostgreSQL: pg_dump in its custom format (compressed,
consistent through one snapshot, restorable selectively), and pg_restore.

A restore replaces the whole database. It refuses a database that already holds data
(users, patients, partners, referrals or audit rows) unless forced.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

# What makes a database "not empty" for restore: rows a person made.
PEOPLE_TABLES = ("accounts_user", "referrals_patient", "partners_partner",
                 "referrals_referral", "accounts_auditevent")


class BackupError(Exception):
    pass


def default_backup_path(vendor: str) -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if vendor == "sqlite" else "pgdump"
    folder = Path(settings.REFNET_BACKUP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"refnet-{stamp}.{suffix}"


# --- SQLite --------------------------------------------------------------------------

def sqlite_backup(db_path: str | Path, out: Path) -> None:
    """Copy the live database into `out` in one step of the backup API (a read snapshot:
    writers in WAL mode go on; the copy is consistent). Written next to `out` and renamed,
    so a half-written file never has the final name."""
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
    finally:
        source.close()
    os.replace(partial, out)


def _sqlite_check(path: Path) -> None:
    try:
        probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = probe.execute("PRAGMA quick_check").fetchone()[0]
            probe.execute("SELECT 1 FROM django_migrations LIMIT 1")
        finally:
            probe.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a refnet SQLite backup: {exc}") from exc
    if ok != "ok":
        raise BackupError(f"{path} is damaged: {ok}")


def sqlite_restore(backup: Path, db_path: str | Path) -> None:
    """Copy the backup over the database with the backup API (page by page, under the
    target's write lock, so no reader sees half of it)."""
    _sqlite_check(backup)
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(db_path)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


# --- PostgreSQL ----------------------------------------------------------------------

def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                     ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (apt install postgresql-client)"
                          ) from exc
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}")


def pg_backup(db: dict[str, Any], out: Path) -> None:
    partial = out.with_name(out.name + ".partial")
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
          f"--file={partial}", db["NAME"]], _pg_env(db))
    os.replace(partial, out)


def pg_restore(backup: Path, db: dict[str, Any]) -> None:
    """One transaction: the database is the backup's or, on any error, what it was."""
    _run(["pg_restore", "--list", str(backup)], _pg_env(db))  # is it a custom-format dump?
    _run(["pg_restore", "--no-owner", "--no-privileges", "--clean", "--if-exists",
          "--single-transaction", "--exit-on-error", f"--dbname={db['NAME']}", str(backup)],
         _pg_env(db))


# --- Both ----------------------------------------------------------------------------

def database_has_data(connection) -> bool:
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in PEOPLE_TABLES:
            if table in existing:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
                if cursor.fetchone():
                    return True
    return False


def backup(connection, out: Path | None = None) -> Path:
    out = Path(out) if out else default_backup_path(connection.vendor)
    out.parent.mkdir(parents=True, exist_ok=True)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        sqlite_backup(db["NAME"], out)
    elif connection.vendor == "postgresql":
        pg_backup(db, out)
    else:
        raise BackupError(f"No backup for {connection.vendor}")
    return out


def restore(connection, backup_file: Path, *, force: bool = False) -> None:
    backup_file = Path(backup_file)
    if not backup_file.is_file():
        raise BackupError(f"No such backup file: {backup_file}")
    if database_has_data(connection) and not force:
        raise BackupError(
            "The database already holds data (users, patients, partners, referrals or audit "
            "rows). Restoring replaces all of it; run again with --force if that is meant.")
    db = connection.settings_dict
    connection.close()  # a restore must not race this process's own connection
    if connection.vendor == "sqlite":
        sqlite_restore(backup_file, db["NAME"])
    elif connection.vendor == "postgresql":
        pg_restore(backup_file, db)
    else:
        raise BackupError(f"No restore for {connection.vendor}")


# --- Comparing two databases, table by table (the round-trip test, and a restore drill) --

def table_digests(vendor: str, db: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """Every table of a database (Django's, the trigger-maintained rollups, the search
    index, SQLite's own sqlite_sequence): its row count and a SHA-256 of its rows in a
    stable order. Opens its own connection from Django-style settings (NAME, HOST...)."""
    digests = {}
    if vendor == "sqlite":
        conn = sqlite3.connect(f"file:{db['NAME']}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_stat%' ORDER BY name")]
            for table in tables:
                rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"'))
                digests[table] = (len(rows), _sha("\n".join(rows)))
        finally:
            conn.close()
        return digests
    import psycopg

    params = {k: v for k, v in (("dbname", db["NAME"]), ("host", db.get("HOST")),
                                ("port", db.get("PORT")), ("user", db.get("USER")),
                                ("password", db.get("PASSWORD"))) if v}
    with psycopg.connect(**params) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                       "ORDER BY tablename")
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT t::text FROM "{table}" t ORDER BY 1')
            rows = [r[0] for r in cursor.fetchall()]
            digests[table] = (len(rows), _sha("\n".join(rows)))
    return digests


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
