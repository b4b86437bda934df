"""`refnet demo`: a synthetic practice to try refnet with (see refnet.practice.demo)."""

from django.core.management.base import BaseCommand

from refnet.api.demo import integrations_table
from refnet.practice.demo import build_demo, logins_table


class Command(BaseCommand):
    help = ("Fill an empty database with a synthetic demo practice, then print the demo "
            "logins. Does nothing but print them when data exists, unless --reset.")

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Delete all refnet data (users are kept) and build anew.")

    def handle(self, *args, reset: bool = False, **options):
        if build_demo(reset=reset, stream=self.stdout):
            self.stdout.write(self.style.SUCCESS("Demo practice ready."))
        else:
            self.stdout.write("The database already has data; left it as it is "
                              "(use --reset to replace it with the demo).")
        self.stdout.write(logins_table())
        self.stdout.write(integrations_table())
