"""`refnet seed --partners N --referrals M`: bulk benchmark data (see refnet.practice.seed)."""

from django.core.management.base import BaseCommand, CommandError

from refnet.practice.seed import seed_database


class Command(BaseCommand):
    help = ("Append synthetic partners, contacts, patients and referrals in bulk, fast "
            "enough for 100,000 partners and 2,000,000 referrals. Progress goes to stderr.")

    def add_arguments(self, parser):
        parser.add_argument("--partners", type=int, default=1000)
        parser.add_argument("--referrals", type=int, default=20000)
        parser.add_argument("--patients", type=int, default=None,
                            help="Default: half the referrals.")
        parser.add_argument("--seed", type=int, default=1,
                            help="Random seed; the same seed on the same data gives the "
                                 "same rows.")

    def handle(self, *args, partners: int, referrals: int, patients: int | None, seed: int,
               **options):
        if partners < 0 or referrals < 0 or (patients is not None and patients < 0):
            raise CommandError("Counts cannot be negative.")
        report = seed_database(partners=partners, referrals=referrals, patients=patients,
                               seed=seed, stream=self.stderr)
        self.stdout.write(
            f"Seeded {report.partners:,} partners, {report.contacts:,} contacts, "
            f"{report.aliases:,} aliases, {report.search_entries:,} search entries, "
            f"{report.patients:,} patients, {report.referrals:,} referrals and "
            f"{report.events:,} events in {report.seconds:.1f} s "
            f"({report.rows / max(report.seconds, 1e-9):,.0f} rows/s)."
        )
