"""Import pages: upload, mapping (suggested, editable), dry-run report with duplicate
choices and the mode, import with a polled progress bar, result with the problems CSV."""

from __future__ import annotations

import logging
from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from refnet.accounts.audit import client_address
from refnet.accounts.permissions import Cap, requires

from . import engine
from .mapping import missing_required, targets_for
from .models import ImportJob, ImportKind, ImportMapping, ImportMode, JobStatus
from .partner_rows import ACTIONS
from .reading import ReadError, cell_text, open_table
from .services import (
    job_commit_in_background,
    job_dry_run,
    job_set_choices,
    job_set_mapping,
    job_start,
    upload_save,
)

log = logging.getLogger(__name__)
SAMPLE_ROWS = 5


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV (any delimiter, UTF-8 or Windows-1252) or XLSX.")
    kind = forms.ChoiceField(choices=ImportKind.choices, widget=forms.RadioSelect,
                             initial=ImportKind.REFERRALS)
    source = forms.CharField(max_length=100, label="Source system",
                             help_text="Where the file comes from, e.g. \"Old CRM\". Its "
                                       "column mapping is remembered for next time.")
    sheet = forms.CharField(max_length=100, required=False, label="Sheet (XLSX)",
                            help_text="Leave empty for the first sheet.")


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, template, {"nav": "import", **context})


@requires(Cap.IMPORT_RUN)
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    return _page(request, "imports/start.html", {
        "form": UploadForm(), "jobs": ImportJob.objects.select_related("by")[:20],
        "sources": ImportMapping.objects.values_list("source", flat=True).distinct()})


@requires(Cap.IMPORT_RUN)
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload_file = form.cleaned_data["file"]
        path = upload_save(upload_file)
        try:
            job, _header = job_start(
                path=path, file_name=upload_file.name, kind=form.cleaned_data["kind"],
                source=form.cleaned_data["source"], sheet=form.cleaned_data["sheet"].strip(),
                by=request.user, address=client_address(request))
        except ValidationError as exc:
            path.unlink(missing_ok=True)
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            return redirect("imports:mapping", job.pk)
    return _page(request, "imports/start.html", {
        "form": form, "jobs": ImportJob.objects.select_related("by")[:20],
        "sources": ImportMapping.objects.values_list("source", flat=True).distinct()})


def _header_and_samples(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    with open_table(job.path, sheet=job.sheet) as table:
        samples: list[list[str]] = [[] for _ in table.header]
        for count, (_line, cells) in enumerate(table.rows()):
            if count >= SAMPLE_ROWS:
                break
            if isinstance(cells, Exception):
                continue
            for i in range(len(table.header)):
                if i < len(cells) and cell_text(cells[i]):
                    samples[i].append(cell_text(cells[i])[:60])
        return table.header, samples


@requires(Cap.IMPORT_RUN)
@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status in (JobStatus.RUNNING, JobStatus.DONE):
        return redirect("imports:detail", job.pk)
    try:
        header, samples = _header_and_samples(job)
    except ReadError as exc:
        messages.error(request, str(exc))
        return redirect("imports:start")
    targets = targets_for(job.kind)
    if request.method == "POST":
        chosen = {t.name: request.POST.get(f"map-{t.name}", "") for t in targets}
        chosen = {t: c for t, c in chosen.items() if c in header}
        job_set_mapping(job=job, header=header, mapping=chosen, save=True)
        missing = missing_required(job.kind, job.mapping)
        if not missing:
            try:
                job = job_dry_run(job=job)
            except Exception:  # noqa: BLE001 - shown, logged; the job says what happened
                log.exception("import %s: dry run failed", job.pk)
                job.refresh_from_db()
            if job.status == JobStatus.CHECKED:
                return redirect("imports:detail", job.pk)
            messages.error(request, job.message or "The file could not be checked.")
        else:
            messages.error(request, "Choose a column for: " + ", ".join(missing) + ".")
    columns = [{"name": name, "samples": samples[i]} for i, name in enumerate(header)]
    rows = [{"target": t, "column": job.mapping.get(t.name, "")} for t in targets]
    return _page(request, "imports/mapping.html", {
        "job": job, "rows": rows, "columns": columns, "header": header})


@requires(Cap.IMPORT_RUN)
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    return _page(request, "imports/detail.html", {
        "job": job, "progress": engine.read_progress(job), "actions": ACTIONS,
        "modes": ImportMode.choices, "is_partners": job.kind == ImportKind.PARTNERS})


@requires(Cap.IMPORT_RUN)
@require_POST
def commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status != JobStatus.CHECKED:
        messages.info(request, "Check the file (dry run) before importing it.")
        return redirect("imports:detail", job.pk)
    every = request.POST.get("all_duplicates", "")
    decisions = {"*": every} if every in ACTIONS else {}
    for key, value in request.POST.items():
        if key.startswith("dup-") and key[4:].isdigit() and value in ACTIONS:
            decisions[key[4:]] = value
    if every in ACTIONS:  # "set all" wins over the per-row choices
        decisions = {"*": every}
    job_set_choices(job=job, mode=request.POST.get("mode", ImportMode.ALL_OR_NOTHING),
                    decisions=decisions,
                    create_sources=request.POST.get("create_sources") == "on")
    job_commit_in_background(job)
    return redirect("imports:detail", job.pk)


@requires(Cap.IMPORT_RUN)
@require_GET
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status != JobStatus.RUNNING:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # done: show the result page
        return response
    return render(request, "imports/_progress.html", {
        "job": job, "progress": engine.read_progress(job)})


@requires(Cap.IMPORT_RUN)
@require_GET
def problems_csv(request: HttpRequest, pk: int) -> FileResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    path = Path(job.errors_path) if job.errors_path else None
    if path is None or not path.is_file():
        raise Http404("This import has no problems file.")
    return FileResponse(path.open("rb"), as_attachment=True,
                        filename=f"import-{job.pk}-problems.csv", content_type="text/csv")
