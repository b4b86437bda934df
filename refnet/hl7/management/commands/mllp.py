"""refnet mllp [--host 127.0.0.1] [--port 2575] [--actor NAME] [--idle-timeout SECONDS]

Listen for HL7 v2 REF^I12 messages over MLLP and answer each with an ACK. MLLP has no
authentication: bind to loopback (the default) or a trusted network, or put it behind a TLS
tunnel (stunnel, an interface engine). Messages are recorded as from "mllp:<actor>" with
the peer's address. Stops cleanly on SIGTERM or SIGINT.
"""

import asyncio

from django.core.management.base import BaseCommand, CommandError

from refnet.hl7.mllp import MllpServer


class Command(BaseCommand):
    help = "Receive HL7 v2 REF^I12 referrals over MLLP (each message gets an ACK)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1",
                            help="Address to bind (default 127.0.0.1; MLLP has no auth).")
        parser.add_argument("--port", type=int, default=2575)
        parser.add_argument("--actor", default="mllp",
                            help="Name recorded as who sent the messages (mllp:<name>).")
        parser.add_argument("--idle-timeout", type=float, default=600.0,
                            help="Close a connection silent for this many seconds.")

    def handle(self, *args, **options):
        if not 0 <= options["port"] <= 65535:
            raise CommandError("--port must be between 0 and 65535.")
        server = MllpServer(host=options["host"], port=options["port"],
                            actor=options["actor"], idle_timeout=options["idle_timeout"])
        self.stdout.write(f"MLLP listening on {options['host']}:{options['port']} "
                          "(Ctrl-C to stop)")
        try:
            asyncio.run(server.run(install_signals=True))
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: "
                               f"{exc}") from None
        self.stdout.write("MLLP stopped")
