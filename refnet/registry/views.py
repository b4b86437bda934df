"""The complementary-practice finder, its pairs table and the registry import page.

No patient data here: the registry is public provider data, so nothing is audited."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from refnet.accounts.permissions import Cap, has_cap, requires

from . import selectors
from .forms import AddProspectForm, FinderForm, PairForm, UploadForm
from .models import ComplementaryPair, ImportKind, ImportStatus, RegistryImport, RegistryProvider
from .services import importer
from .services.nucc import nucc_import
from .services.prospects import prospect_add

PER_PAGE = 25


def _network(request: HttpRequest, template: str, context: dict, sub: str = "finder"):
    return render(request, template, {"nav": "network", "sub": sub, **context})


@requires(Cap.FINDER)
@require_GET
def finder(request: HttpRequest) -> HttpResponse:
    form = FinderForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"radius": data["radius"] or selectors.DEFAULT_RADIUS,
                   "location": data["location"], "service_line": data["service_line"],
                   "taxonomy": data["specialty"], "entity_type": data["entity_type"]}
    rows = selectors.finder_candidates(**filters) if not form.errors else []
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return _network(request, "registry/finder.html", {
        "form": form, "page": page, "radius": filters.get("radius", selectors.DEFAULT_RADIUS),
        "owner_form": AddProspectForm(initial={"owner": request.user.pk}),
        "counts": selectors.registry_counts(),
        "has_locations": bool(selectors.finder_locations()),
    })


@requires(Cap.FINDER)
@require_POST
def add_prospect(request: HttpRequest, npi: int) -> HttpResponse:
    provider = get_object_or_404(RegistryProvider, pk=npi)
    form = AddProspectForm(request.POST)
    if not form.is_valid():
        error = "; ".join(e for errs in form.errors.values() for e in errs)
        if request.htmx:
            return render(request, "registry/_added.html", {"error": error,
                                                             "provider": provider})
        messages.error(request, error)
        return redirect("registry:finder")
    owner = form.cleaned_data["owner"] or request.user
    try:
        partner, created = prospect_add(provider=provider, owner=owner, by=request.user)
    except ValidationError as error:
        text = "; ".join(error.messages)
        if request.htmx:
            return render(request, "registry/_added.html", {"error": text,
                                                             "provider": provider})
        messages.error(request, text)
        return redirect("registry:finder")
    if request.htmx:
        return render(request, "registry/_added.html",
                      {"partner": partner, "created": created, "provider": provider})
    if created:
        messages.success(request, f"{partner.name} is now a prospect owned by {owner}, with a "
                                  "first follow-up in two business days.")
    else:
        messages.info(request, f"{partner.name} is already a partner.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/finder/") else "registry:finder")


# ---- the complementary table ----

@requires(Cap.FINDER)
@require_GET
def pairs(request: HttpRequest) -> HttpResponse:
    return _network(request, "registry/pairs.html", {
        "pairs": ComplementaryPair.objects.all(), "form": PairForm(),
        "can_edit": has_cap(request.user, Cap.FIT_WEIGHTS_EDIT),
        "names": dict(selectors.Taxonomy.objects.values_list("code", "display_name")),
    })


@requires(Cap.FIT_WEIGHTS_EDIT)
@require_POST
def pair_save(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    pair = get_object_or_404(ComplementaryPair, pk=pk) if pk else None
    form = PairForm(request.POST, instance=pair)
    if form.is_valid():
        saved = form.save()
        messages.success(request, f"Saved: {saved}.")
        return redirect("registry:pairs")
    return _network(request, "registry/pairs.html", {
        "pairs": ComplementaryPair.objects.all(), "form": form, "editing": pair,
        "can_edit": True,
        "names": dict(selectors.Taxonomy.objects.values_list("code", "display_name")),
    })


@requires(Cap.FIT_WEIGHTS_EDIT)
@require_POST
def pair_delete(request: HttpRequest, pk: int) -> HttpResponse:
    pair = get_object_or_404(ComplementaryPair, pk=pk)
    pair.delete()
    messages.success(request, f"Removed: {pair}.")
    return redirect("registry:pairs")


# ---- imports ----

@requires(Cap.REGISTRY_IMPORT)
@require_GET
def imports(request: HttpRequest) -> HttpResponse:
    return _network(request, "registry/imports.html", {
        "form": UploadForm(), "imports": RegistryImport.objects.all()[:20],
        "counts": selectors.registry_counts()})


def _saved_upload(upload) -> Path:
    folder = Path(settings.DATA_DIR) / "registry"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.name).name)[-120:] or "upload.csv"
    path = folder / f"{timezone.now():%Y%m%d-%H%M%S}-{safe}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


@requires(Cap.REGISTRY_IMPORT)
@require_POST
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            states = importer.parse_states(form.cleaned_data["states"])
        except importer.ImportRefused as refusal:
            form.add_error("states", str(refusal))
    if not form.is_valid():
        return _network(request, "registry/imports.html", {
            "form": form, "imports": RegistryImport.objects.all()[:20],
            "counts": selectors.registry_counts()})
    upload = form.cleaned_data["file"]
    if form.cleaned_data["kind"] == ImportKind.NUCC:
        try:
            result = nucc_import(data=upload.read())
        except importer.ImportRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("registry:imports")
        text = f"{result.imported:,} taxonomy codes imported."
        if result.errors:
            text += " Skipped: " + "; ".join(f"line {n}, {f}: {m}"
                                             for n, f, m in result.errors[:10])
        messages.success(request, text)
        return redirect("registry:imports")
    path = _saved_upload(upload)
    try:
        importer.read_header(path)
    except importer.ImportRefused as refusal:
        path.unlink(missing_ok=True)
        messages.error(request, str(refusal))
        return redirect("registry:imports")
    size, fingerprint = importer.file_fingerprint(path)
    record = RegistryImport.objects.create(
        kind=ImportKind.NPPES, file_name=upload.name[:255], path=str(path), size=size,
        fingerprint=fingerprint, states=" ".join(states), started_by=request.user)
    _start(record)
    return redirect("registry:imports")


def _start(record: RegistryImport) -> None:
    if getattr(settings, "REFNET_REGISTRY_IMPORT_INLINE", False):  # tests
        try:
            importer.nppes_import(path=record.path, record=record)
        except Exception:  # noqa: BLE001 - the record says what happened
            pass
    else:
        importer.nppes_import_in_background(record)


@requires(Cap.REGISTRY_IMPORT)
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(RegistryImport, pk=pk)
    return render(request, "registry/_import_row.html", {"r": record})


@requires(Cap.REGISTRY_IMPORT)
@require_POST
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(RegistryImport, pk=pk, kind=ImportKind.NPPES)
    stale = record.updated_at < timezone.now() - importer.STALE_AFTER
    if record.status == ImportStatus.DONE or (record.status == ImportStatus.RUNNING
                                              and not stale):
        messages.info(request, "That import is not stopped.")
    elif not Path(record.path).is_file():
        messages.error(request, "The uploaded file is gone; upload it again.")
    else:
        record.status = ImportStatus.RUNNING
        record.save(update_fields=["status", "updated_at"])
        _start(record)
    return redirect("registry:imports")
