"""`refnet backup [--output FILE]`: a consistent copy of the database, safe while the app
runs (docs/audit.md, "Backups"). Prints the file written."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from refnet.accounts.backup import BackupError, backup


class Command(BaseCommand):
    help = ("Back up the database (SQLite: online backup API; PostgreSQL: pg_dump custom "
            "format) to --output or data/backups/refnet-<timestamp>.<ext>; prints the file.")

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="Write here instead of data/backups/.")

    def handle(self, *args, output: str | None = None, **options):
        try:
            written = backup(connection, output)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(written))
