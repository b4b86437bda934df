"""Pretend a text message arrived (development, with the file SMS backend):

    refnet sms_inbound --from "(303) 555-0142" "STOP"
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from refnet.outbox.services import sms_inbound_record


class Command(BaseCommand):
    help = "Record an inbound SMS as the provider webhook would (STOP opts out, START in)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from_number", required=True,
                            help="The sender's phone number.")
        parser.add_argument("text", help="The message text, e.g. STOP.")

    def handle(self, *args, from_number: str, text: str, **options):
        try:
            inbound = sms_inbound_record(from_number=from_number, body=text)
        except ValidationError as exc:
            raise CommandError(f"--from: {' '.join(exc.messages)}") from exc
        action = {"opt_out": "opted out of SMS", "opt_in": "opted back in to SMS"}.get(
            inbound.action, "recorded, no action")
        self.stdout.write(f"{inbound.from_number}: {action}.")
