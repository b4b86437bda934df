"""`refnet nucc_import FILE`: load the NUCC taxonomy CSV (Code, Grouping, Classification,
Specialization, ..., Display Name) so the finder can name specialties."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from refnet.registry.services.importer import ImportRefused
from refnet.registry.services.nucc import nucc_import


class Command(BaseCommand):
    help = "Import the NUCC Health Care Provider Taxonomy CSV."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        try:
            result = nucc_import(path=file)
        except ImportRefused as refusal:
            raise CommandError(str(refusal)) from None
        for line, fieldname, message in result.errors:
            self.stderr.write(f"line {line}: {fieldname}: {message}")
        self.stdout.write(f"Imported {result.imported:,} taxonomy codes; "
                          f"{len(result.errors):,} bad rows skipped.")
