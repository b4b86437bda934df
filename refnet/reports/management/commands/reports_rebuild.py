"""`refnet reports_rebuild [--check]`: recompute every report rollup from the referrals
(after a bulk load that bypassed its triggers), or with --check only compare."""

import time

from django.core.management.base import BaseCommand, CommandError

from refnet.reports.rollup import rollup_check, rollup_rebuild


class Command(BaseCommand):
    help = ("Rebuild the report rollups (monthly, per partner by location and in all, per "
            "ZIP, speed histogram) "
            "from the referrals, or --check them.")

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true",
                            help="Only compare; exit 1 and list the differences if any.")

    def handle(self, *args, check: bool = False, **options):
        started = time.perf_counter()
        if check:
            differences = rollup_check()
            for line in differences[:50]:
                self.stdout.write(line)
            if differences:
                raise CommandError(f"{len(differences)} differences; run reports_rebuild.")
            self.stdout.write(f"Rollup exact ({time.perf_counter() - started:.1f} s).")
            return
        rows = rollup_rebuild()
        self.stdout.write(f"Rollup rebuilt: {rows} rows in {time.perf_counter() - started:.1f} s.")
