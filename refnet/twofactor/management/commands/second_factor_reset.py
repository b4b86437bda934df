"""`refnet second_factor_reset <username> --reason ...`: remove a user's authenticator app and
backup codes from the server's shell, e.g. when the only admin lost their phone. Recorded
like a reset from the Second factors page (with no acting user)."""

from django.core.management.base import BaseCommand, CommandError

from refnet.accounts.models import User
from refnet.twofactor.services import second_factor_reset


class Command(BaseCommand):
    help = "Remove a user's second factor (authenticator app and backup codes), recorded."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="Why, for the record.")

    def handle(self, *args, username: str, reason: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        removed = second_factor_reset(user=user, by=None, reason=f"(command line) {reason}",
                                      address=None)
        self.stdout.write(f"Removed {removed} device(s) of {username}; they set up a new "
                          "authenticator app at their next log-in.")
