"""One pass over an import file: the dry run (check every row, write nothing) or the commit.

execute(job, commit=False|True):
1. Open the file (reading.open_table) and turn the job's mapping into column positions.
2. Decide the day/month order of each date column from all its values (a first pass over
   the file that only looks at those columns; remembered in job.options["date_orders"]).
3. Hand the rows to the kind's processor (partner_rows / referral_rows), which checks each
   one, finds duplicates and, when committing, writes.
4. Modes: all-or-nothing runs the whole commit in one transaction and rolls it back if any
   row has a problem; good-rows commits batch by batch (partners row by row) and lists the
   rows it skipped.
5. Every problem goes to the error CSV (line, column, field, value, message); the first
   REPORT_CAP are kept in job.report for the page. Progress (rows and bytes done) is
   written to a small file next to the upload so the page can poll it while a long
   transaction is open.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

# One rule for every spreadsheet refnet writes (reports, rewards, this problems file).
from refnet.reports.exports import neutralize

from . import dates
from .mapping import missing_required, targets_for
from .models import REPORT_CAP, ImportJob, ImportKind, ImportMode, JobStatus
from .reading import ReadError, Table, cell_text, open_table

DATE_TARGETS = {"received", "birth_date"}


def imports_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _Rollback(Exception):
    pass


@dataclass
class Run:
    job: ImportJob
    commit: bool
    table: Table
    columns: dict[str, int]
    progress: Callable[[ImportJob, dict], None] | None = None
    counts: Counter = field(default_factory=Counter)
    problems: list[dict] = field(default_factory=list)
    problems_total: int = 0
    error_lines: set[int] = field(default_factory=set)
    duplicates: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    _errors_out: object = None
    _errors_fh: object = None
    _last_progress: float = 0.0

    @property
    def date_orders(self) -> dict[str, str]:
        return self.job.options.get("date_orders", {})

    @property
    def source_system(self) -> str:
        return f"import:{self.job.source.strip()}"[:200]

    def label(self, target: str) -> str:
        for t in targets_for(self.job.kind):
            if t.name == target:
                return t.label
        return target

    def cell(self, cells: list, target: str):
        index = self.columns.get(target)
        if index is None or index >= len(cells):
            return ""
        return cells[index]

    def problem(self, line: int, target: str, message: str, value="") -> None:
        """One problem with one row (target "" for the row as a whole)."""
        self.problems_total += 1
        self.error_lines.add(line)
        column = self.job.mapping.get(target, "") if target else ""
        shown = cell_text(value)[:200]
        entry = {"line": line, "field": self.label(target) if target else "",
                 "column": column, "value": shown, "message": message}
        if len(self.problems) < REPORT_CAP:
            self.problems.append(entry)
        if self._errors_out is None:
            path = imports_dir() / f"job-{self.job.pk}-problems.csv"
            self._errors_fh = path.open("w", newline="", encoding="utf-8")
            self._errors_out = csv.writer(self._errors_fh)
            self._errors_out.writerow(["line", "column", "field", "value", "problem"])
            self.job.errors_path = str(path)
        self._errors_out.writerow([line, neutralize(column), entry["field"],
                                   neutralize(shown), neutralize(message)])

    def tick(self, rows_done: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_progress < 0.5:
            return
        self._last_progress = now
        state = {"rows_done": rows_done, "bytes_done": self.table.bytes_done(),
                 "size": self.table.size, "seconds": round(now - self.started, 2),
                 "errors": len(self.error_lines)}
        progress_path(self.job).write_text(json.dumps(state))
        if self.progress is not None:
            self.progress(self.job, state)

    def close(self) -> None:
        if self._errors_fh is not None:
            self._errors_fh.close()


def progress_path(job: ImportJob) -> Path:
    return imports_dir() / f"job-{job.pk}.progress.json"


def read_progress(job: ImportJob) -> dict:
    try:
        return json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        return {}


def columns_for(header: list[str], mapping: dict[str, str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for target, column in mapping.items():
        if column in header:
            positions[target] = header.index(column)
    return positions


def decide_date_orders(job: ImportJob) -> dict[str, str]:
    """Read the date columns of the whole file once; MDY or DMY for each."""
    with open_table(job.path, sheet=job.sheet) as table:
        columns = {t: i for t, i in columns_for(table.header, job.mapping).items()
                   if t in DATE_TARGETS}
        if not columns:
            return {}
        samples: dict[str, list[str]] = {t: [] for t in columns}
        seen_day_first: dict[str, bool] = dict.fromkeys(columns, False)
        # Only distinct values matter, and a column holds few (a set per column, bounded);
        # ISO dates (2024-01-31) never tell the order.
        distinct: dict[str, set[str]] = {t: set() for t in columns}
        pairs = tuple(columns.items())
        for _line, cells in table.rows():
            if cells.__class__ is not list:
                continue
            size = len(cells)
            for target, index in pairs:
                if index < size:
                    value = cells[index]
                    if value.__class__ is str and ("/" in value or "-" in value) \
                            and value[4:5] != "-":
                        seen = distinct[target]
                        if value in seen:
                            continue
                        if len(seen) < 100_000:
                            seen.add(value)
                        samples[target].append(value)
            for target in columns:  # keep memory flat on big files
                if len(samples[target]) > 5000:
                    seen_day_first[target] = (seen_day_first[target] or
                                              dates.column_order(samples[target]) == dates.DMY)
                    samples[target] = samples[target][-1:]
        orders = {}
        for target in columns:
            order = dates.column_order(samples[target])
            orders[target] = dates.DMY if seen_day_first[target] or order == dates.DMY \
                else dates.MDY
        return orders


def _finish(job: ImportJob, run: Run | None, status: str, message: str) -> ImportJob:
    job.status = status
    job.message = message[:500]
    job.finished_at = timezone.now() if job.status in (JobStatus.DONE, JobStatus.FAILED) \
        else None
    if run is not None:
        run.close()
        job.rows_total = run.counts["rows"]
        job.rows_done = run.counts["rows"]
        job.rows_ok = run.counts["ok"]
        job.rows_error = len(run.error_lines)
        job.rows_duplicate = run.counts["duplicate"]
        job.bytes_done = job.size
        job.report = {
            "problems": run.problems, "problems_total": run.problems_total,
            "duplicates": run.duplicates[:REPORT_CAP], "duplicates_total": len(run.duplicates),
            "counts": dict(run.counts), "notes": run.notes[:50],
            "seconds": round(time.perf_counter() - run.started, 2),
            "committed": run.commit,
        }
    job.save()
    return job


def execute(job: ImportJob, *, commit: bool,
            progress: Callable[[ImportJob, dict], None] | None = None) -> ImportJob:
    """Dry-run or commit `job`; returns it with status, counts and report filled in."""
    from .partner_rows import process_partners
    from .referral_rows import process_referrals, referral_setup_problems

    missing = missing_required(job.kind, job.mapping)
    if missing:
        return _finish(job, None, JobStatus.UPLOADED,
                       "Choose a column for: " + ", ".join(missing) + ".")
    if job.kind == ImportKind.REFERRALS:
        setup = referral_setup_problems(job)
        if setup:
            return _finish(job, None, JobStatus.UPLOADED, setup)
    job.started_at = job.started_at or timezone.now()
    if commit:
        job.status = JobStatus.RUNNING
        job.save(update_fields=["status", "started_at", "updated_at"])
    try:
        if "date_orders" not in job.options:
            job.options = {**job.options, "date_orders": decide_date_orders(job)}
        table = open_table(job.path, sheet=job.sheet)
    except ReadError as exc:
        return _finish(job, None, JobStatus.FAILED if commit else JobStatus.UPLOADED, str(exc))
    process = process_partners if job.kind == ImportKind.PARTNERS else process_referrals
    run = Run(job=job, commit=commit, table=table,
              columns=columns_for(table.header, job.mapping), progress=progress)
    all_or_nothing = commit and job.mode == ImportMode.ALL_OR_NOTHING
    try:
        with table:
            if all_or_nothing:
                try:
                    with transaction.atomic():
                        process(run)
                        if run.error_lines:
                            raise _Rollback
                except _Rollback:
                    run.counts["written"] = 0
                    run.tick(run.counts["rows"], force=True)
                    return _finish(job, run, JobStatus.FAILED,
                                   f"Nothing imported: {len(run.error_lines):,} of "
                                   f"{run.counts['rows']:,} rows have problems (all or "
                                   "nothing). Fix them, or import the good rows only.")
            else:
                process(run)
            run.tick(run.counts["rows"], force=True)
    except Exception as exc:  # noqa: BLE001 - the job says what happened; re-raised below
        _finish(job, run, JobStatus.FAILED if commit else JobStatus.UPLOADED,
                f"The import stopped: {type(exc).__name__}: {exc}"[:500])
        raise
    if not commit:
        return _finish(job, run, JobStatus.CHECKED, _summary(run, dry=True))
    return _finish(job, run, JobStatus.DONE, _summary(run, dry=False))


def _summary(run: Run, *, dry: bool) -> str:
    c = run.counts
    noun = "partners" if run.job.kind == ImportKind.PARTNERS else "referrals"
    head = (f"{c['rows']:,} rows checked: {c['ok']:,} ready to import"
            if dry else f"{c['ok']:,} {noun} imported from {c['rows']:,} rows")
    parts = [head]
    if run.error_lines:
        parts.append(f"{len(run.error_lines):,} with problems"
                     + ("" if dry else " (skipped)"))
    if c["duplicate"]:
        parts.append(f"{c['duplicate']:,} duplicates")
    if c["merged"]:
        parts.append(f"{c['merged']:,} merged into existing partners")
    if c["already"]:
        parts.append(f"{c['already']:,} imported before")
    return "; ".join(parts) + "."
