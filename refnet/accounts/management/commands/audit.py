"""`refnet audit verify`: check the audit log's hash chain (docs/audit.md).

Exit code 0 when every row matches its hash and follows the row before, 1 otherwise, with
each break named by row id."""

from django.core.management.base import BaseCommand, CommandError

from refnet.accounts.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "The audit log: `audit verify` checks its hash chain (exit 0 intact, 1 broken)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Check every row's hash and link; exit 1 on a "
                                               "break, naming the row.")
        verify.add_argument("--max-breaks", type=int, default=100,
                            help="Stop listing after this many breaks (default 100).")

    def handle(self, *args, subcommand: str, max_breaks: int = 100, **options):
        report = audit_chain_verify(max_breaks=max_breaks)
        if report.intact:
            self.stdout.write(self.style.SUCCESS(
                f"Audit log intact: {report.rows} rows, chain ends at row {report.last_id} "
                f"with hash {report.last_hash}."))
            return
        for found in report.breaks:
            self.stdout.write(f"BROKEN {found}")
        raise CommandError(
            f"Audit log chain broken: {len(report.breaks)} break(s) in {report.rows} rows; "
            f"the first is at row {report.breaks[0].row_id}.", returncode=1)
