"""`refnet nppes_import FILE [--states CO,WY] [--strict] [--resume | --restart]`: load the
NPPES registry file (npidata_pfile_*.csv) for the finder. Streams the file, keeps the
needed columns and the chosen states, commits every 10,000 rows with its checkpoint, and
shows a progress bar on stderr. Malformed rows are skipped and listed by line; --strict
imports nothing if any row is malformed. Interrupted (Ctrl-C, kill -9)? Run again with
--resume: it continues after the last committed batch."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from refnet.registry.models import ImportStatus
from refnet.registry.services.importer import ImportRefused, nppes_import, parse_states


class Command(BaseCommand):
    help = "Import an NPPES registry CSV (npidata_pfile) for the complementary-practice finder."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--states", default="", help="Keep only these, e.g. CO,WY.")
        parser.add_argument("--strict", action="store_true",
                            help="Import nothing if any kept row is malformed.")
        parser.add_argument("--resume", action="store_true",
                            help="Continue an interrupted import of this file.")
        parser.add_argument("--restart", action="store_true",
                            help="Start over even if an import of this file was interrupted.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, states: str, strict: bool, resume: bool,
               restart: bool, no_progress: bool, **options):
        started = time.perf_counter()
        first_bytes: list[int] = []

        def progress(record) -> None:
            if no_progress:
                return
            if not first_bytes:
                first_bytes.append(record.bytes_done)
            seconds = max(time.perf_counter() - started, 1e-6)
            width = 30
            done = int(width * record.percent / 100)
            sys.stderr.write(
                f"\r[{'#' * done}{'.' * (width - done)}] {record.percent:3d}%  "
                f"{record.rows_read:,} rows read, {record.rows_kept:,} kept  "
                f"{record.rows_read / seconds:,.0f} rows/s   ")
            sys.stderr.flush()

        try:
            record = nppes_import(path=file, states=parse_states(states), strict=strict,
                                  resume=resume, restart=restart, progress=progress)
        except ImportRefused as refusal:
            raise CommandError(str(refusal)) from None
        except KeyboardInterrupt:
            sys.stderr.write("\nInterrupted. Run again with --resume to continue.\n")
            raise SystemExit(130) from None
        if not no_progress:
            sys.stderr.write("\n")
        for line, fieldname, message in record.errors[:200]:
            self.stderr.write(f"line {line}: {fieldname}: {message}")
        if record.error_count > 200:
            self.stderr.write(f"... and {record.error_count - 200:,} more malformed rows.")
        seconds = time.perf_counter() - started
        if record.status != ImportStatus.DONE:
            raise CommandError(record.message)
        self.stdout.write(
            f"{record.message} {record.rows_read:,} rows read in {seconds:.1f} s "
            f"({record.rows_read / max(seconds, 1e-6):,.0f} rows/s).")
