"""Writes for imports: start a job from a file, set its mapping and choices, run it."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from refnet.accounts.models import User

from . import engine
from .mapping import clean_mapping, mapping_for, mapping_save
from .models import ImportJob, ImportKind, ImportMode, JobStatus
from .partner_rows import ACTIONS
from .reading import ReadError, open_table


def upload_save(upload) -> Path:
    """An uploaded file saved under data/imports/ in chunks (never whole in memory)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.name).name)[-120:] or "upload.csv"
    path = engine.imports_dir() / f"{timezone.now():%Y%m%d-%H%M%S-%f}-{safe}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def job_start(*, path: str | Path, file_name: str, kind: str, source: str, by: User | None,
              sheet: str = "", mapping: dict | None = None, address: str | None = None
              ) -> tuple[ImportJob, list[str]]:
    """A job for this file with the saved (or suggested) mapping; returns (job, header).
    Raises ValidationError when the file cannot be read."""
    if kind not in ImportKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(ImportKind.values)}."})
    source = (source or "").strip()[:100]
    if not source:
        raise ValidationError({"source": "Name the system the file comes from (e.g. "
                                         "\"Old CRM\"), so its mapping can be remembered."})
    try:
        with open_table(path, sheet=sheet) as table:
            header = table.header
    except ReadError as exc:
        raise ValidationError({"file": str(exc)}) from None
    if mapping is None:
        mapping, _saved = mapping_for(kind, source, header)
    else:
        mapping = clean_mapping(kind, header, mapping)
    job = ImportJob.objects.create(
        kind=kind, source=source, file_name=file_name[:255], path=str(path),
        size=Path(path).stat().st_size, sheet=sheet, mapping=mapping, by=by,
        options={"address": address} if address else {})
    return job, header


def job_set_mapping(*, job: ImportJob, header: list[str], mapping: dict,
                    save: bool = True) -> ImportJob:
    job.mapping = clean_mapping(job.kind, header, mapping)
    job.options = {k: v for k, v in job.options.items() if k != "date_orders"}
    job.status = JobStatus.UPLOADED
    job.save(update_fields=["mapping", "options", "status", "updated_at"])
    if save and job.mapping:
        mapping_save(kind=job.kind, source=job.source, mapping=job.mapping)
    return job


def job_set_choices(*, job: ImportJob, mode: str, decisions: dict[str, str],
                    create_sources: bool = False) -> ImportJob:
    job.mode = mode if mode in ImportMode.values else ImportMode.ALL_OR_NOTHING
    job.decisions = {str(k): v for k, v in decisions.items() if v in ACTIONS}
    job.options = {**job.options, "create_sources": bool(create_sources)}
    job.save(update_fields=["mode", "decisions", "options", "updated_at"])
    return job


def job_dry_run(*, job: ImportJob, progress=None) -> ImportJob:
    return engine.execute(job, commit=False, progress=progress)


def job_commit(*, job: ImportJob, progress=None) -> ImportJob:
    if job.status in (JobStatus.RUNNING, JobStatus.DONE):
        raise ValidationError("This import already ran.")
    return engine.execute(job, commit=True, progress=progress)


def job_commit_in_background(job: ImportJob) -> None:
    """Commit in a thread of this process; the page polls the progress file."""
    if getattr(settings, "REFNET_IMPORTS_INLINE", False):  # tests
        try:
            job_commit(job=job)
        except Exception:  # noqa: BLE001 - the job says what happened
            pass
        return
    import threading

    from django.db import connections

    job.status = JobStatus.RUNNING
    job.save(update_fields=["status", "updated_at"])

    def work() -> None:
        try:
            job.status = JobStatus.CHECKED
            engine.execute(job, commit=True)
        except Exception:  # noqa: BLE001 - the job says what happened
            pass
        finally:
            connections.close_all()

    threading.Thread(target=work, name=f"import-{job.pk}", daemon=True).start()
