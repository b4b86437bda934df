"""refnet import FILE: partners or referrals from a CSV or XLSX file, with a progress bar.

Exit codes: 0 everything imported (or, with --dry-run, every row is fine); 1 some rows
have problems (listed; with --mode all nothing was written); 2 the file or the mapping
cannot be used.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from refnet.accounts.models import User
from refnet.imports.mapping import targets_for
from refnet.imports.models import ImportKind, ImportMode, JobStatus
from refnet.imports.services import job_commit, job_dry_run, job_set_mapping, job_start


class Command(BaseCommand):
    help = "Import partners or referrals from a CSV or XLSX file (see docs/import.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--kind", choices=ImportKind.values, default=ImportKind.REFERRALS)
        parser.add_argument("--source", default="command line",
                            help="the system the file comes from; its mapping is remembered")
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help="set a field's column (repeatable); the rest is suggested")
        parser.add_argument("--mapping", help="a JSON file {field: column}")
        parser.add_argument("--sheet", default="", help="XLSX sheet (default: the first)")
        parser.add_argument("--mode", choices=["all", "good"], default="all",
                            help="all: nothing is written if any row is bad (default); "
                                 "good: import the good rows, list the others")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--create-sources", action="store_true",
                            help="create referring partners that match nobody")
        parser.add_argument("--duplicates", choices=["merge", "skip", "new"],
                            help="what to do with every duplicate partner row "
                                 "(default: merge for NPI/email/phone, skip for a name)")
        parser.add_argument("--by", default="", help="user name recorded as the importer")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts) -> None:
        path = Path(opts["file"]).resolve()
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        by = None
        if opts["by"]:
            by = User.objects.filter(username=opts["by"]).first()
            if by is None:
                raise CommandError(f"no user {opts['by']!r}", returncode=2)
        kind = opts["kind"]
        try:
            job, header = job_start(path=path, file_name=path.name, kind=kind,
                                    source=opts["source"], by=by, sheet=opts["sheet"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages), returncode=2) from None
        mapping = dict(job.mapping)
        if opts["mapping"]:
            mapping.update(json.loads(Path(opts["mapping"]).read_text()))
        names = {t.name for t in targets_for(kind)}
        for pair in opts["map"]:
            field, _, column = pair.partition("=")
            if field not in names or column not in header:
                raise CommandError(f"--map {pair}: fields are {', '.join(sorted(names))}; "
                                   f"columns are {', '.join(header)}", returncode=2)
            mapping[field] = column
        job = job_set_mapping(job=job, header=header, mapping=mapping,
                              save=bool(opts["map"] or opts["mapping"]))
        self.stdout.write("Mapping: " + ", ".join(f"{f} <- {c!r}" for f, c in
                                                  job.mapping.items()))
        job.mode = ImportMode.GOOD_ROWS if opts["mode"] == "good" else ImportMode.ALL_OR_NOTHING
        job.options = {**job.options, "create_sources": opts["create_sources"]}
        if opts["duplicates"]:
            job.decisions = {"*": opts["duplicates"]}
        job.save()
        bar = None if opts["no_progress"] else ProgressBar(sys.stderr, job.size)
        run = job_dry_run if opts["dry_run"] else job_commit
        job = run(job=job, progress=bar.update if bar else None)
        if bar:
            bar.done()
        if job.status == JobStatus.UPLOADED and not job.rows_total:
            raise CommandError(job.message, returncode=2)
        report = job.report
        for p in report.get("problems", []):
            field = f", {p['field']}" if p["field"] else ""
            self.stdout.write(f"line {p['line']}{field}: {p['message']}")
        if report.get("problems_total", 0) > len(report.get("problems", [])):
            self.stdout.write(f"... all {report['problems_total']:,} problems: "
                              f"{job.errors_path}")
        for d in report.get("duplicates", [])[:50]:
            match = f"partner #{d['match_id']}" if d["match_id"] else f"line {d['match_line']}"
            self.stdout.write(f"line {d['line']}: {d['name']!r} duplicates {match} "
                              f"{d['match_name']!r} (same {d['by']}): {d['action']}")
        seconds = report.get("seconds") or 0
        rate = f" in {seconds:.1f} s ({job.rows_total / seconds:,.0f} rows/s)" if seconds else ""
        self.stdout.write(job.message + rate)
        if job.rows_error or job.status == JobStatus.FAILED:
            sys.exit(1)


class ProgressBar:
    """[#####-----]  42%  12,345 rows  20,512 rows/s  (percent by bytes read)."""

    def __init__(self, out, size: int) -> None:
        self.out, self.size, self.started = out, size, time.perf_counter()
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.last_line = ""

    def update(self, job, state: dict) -> None:
        percent = min(100, int(state["bytes_done"] * 100 / self.size)) if self.size else 0
        seconds = max(time.perf_counter() - self.started, 1e-6)
        filled = percent // 5
        line = (f"[{'#' * filled}{'-' * (20 - filled)}] {percent:3d}%  "
                f"{state['rows_done']:,} rows  {state['rows_done'] / seconds:,.0f} rows/s")
        if self.tty:
            self.out.write("\r" + line)
        elif line[:30] != self.last_line[:30]:
            self.out.write(line + "\n")
        self.last_line = line
        self.out.flush()

    def done(self) -> None:
        if self.tty and self.last_line:
            self.out.write("\n")
            self.out.flush()
