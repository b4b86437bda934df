"""`refnet restore FILE [--force]`: replace the database with a backup made by `refnet
backup`. Refuses a database that holds data unless --force. Stop the web app and the worker
first (docs/audit.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from refnet.accounts.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore the database from a `refnet backup` file (refuses a non-empty one " \
           "without --force)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A file written by `refnet backup`.")
        parser.add_argument("--force", action="store_true",
                            help="Replace a database that already holds data.")

    def handle(self, *args, file: str, force: bool = False, **options):
        try:
            restore(connection, file, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Restored the database from {file}."))
