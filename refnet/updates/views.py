"""Updates (UPDATES_SEND: outreach, managers, admins): the list, writing a draft, the
audience preview before publishing, and the record of who received what."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from refnet.accounts.permissions import Cap, requires

from . import selectors, services
from .forms import UpdateForm
from .models import DeliveryStatus, Update, UpdateStatus

NAV = "network"


def _add_errors(form: UpdateForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@requires(Cap.UPDATES_SEND)
def update_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.updates_with_counts(), 50).get_page(request.GET.get("page"))
    return render(request, "updates/list.html", {"nav": NAV, "page": page})


def _save(request: HttpRequest, update: Update | None) -> HttpResponse:
    initial = UpdateForm.initial_for(update) if update else None
    form = UpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = {"title": form.cleaned_data["title"], "body": form.cleaned_data["body"],
                  "kind": form.cleaned_data["kind"], "audience": form.audience()}
        try:
            if update is None:
                update = services.update_create(by=request.user, **fields)
            else:
                update = services.update_edit(update=update, by=request.user, **fields)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Saved the draft. Check who it reaches, then publish.")
            return redirect("updates:detail", pk=update.pk)
    return render(request, "updates/form.html", {"nav": NAV, "form": form, "update": update},
                  status=400 if form.errors else 200)


@requires(Cap.UPDATES_SEND)
@require_http_methods(["GET", "POST"])
def update_new(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@requires(Cap.UPDATES_SEND)
@require_http_methods(["GET", "POST"])
def update_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    update = get_object_or_404(Update, pk=pk)
    if update.status != UpdateStatus.DRAFT:
        messages.error(request, "A published update cannot be changed: write a new one.")
        return redirect("updates:detail", pk=update.pk)
    return _save(request, update)


@requires(Cap.UPDATES_SEND)
def update_detail(request: HttpRequest, pk: int) -> HttpResponse:
    update = get_object_or_404(Update.objects.select_related("created_by", "published_by"),
                               pk=pk)
    context = {"nav": NAV, "update": update,
               "audience_text": services.audience_describe(update.audience)}
    if update.status == UpdateStatus.DRAFT:
        context["plan"] = services.update_plan(audience=update.audience)
    else:
        status = request.GET.get("status") or ""
        if status not in DeliveryStatus.values:
            status = ""
        context.update({
            "status": status, "counts": selectors.delivery_counts(update),
            "page": Paginator(selectors.delivery_record(update, status or None), 100)
            .get_page(request.GET.get("page")),
        })
    return render(request, "updates/detail.html", context)


@requires(Cap.UPDATES_SEND)
@require_POST
def update_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    update = get_object_or_404(Update, pk=pk)
    try:
        plan = services.update_publish(update=update, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        now = (f"{plan.now_total} now (the background worker is sending them)"
               if plan.deferred else f"{plan.now_total} now")
        messages.success(request, (
            f"Published to {plan.partners} partner{'s' if plan.partners != 1 else ''}: "
            f"{now}, {plan.later_total} at their next allowed time, "
            f"{plan.skipped_total} skipped."))
    return redirect("updates:detail", pk=update.pk)


@requires(Cap.UPDATES_SEND)
@require_POST
def update_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    update = get_object_or_404(Update, pk=pk)
    try:
        services.update_delete(update=update, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("updates:detail", pk=update.pk)
    messages.success(request, f"Deleted the draft “{update.title}”.")
    return redirect("updates:list")
