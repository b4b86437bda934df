"""Partner directory screens: list, create, edit, detail (with contacts and history), merge.

Views parse, check, call a selector or service, and render. Every view is marked with the
capability it needs; the middleware refuses the rest.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, has_cap, requires
from refnet.followups.selectors import partner_open_followups
from refnet.outbox.selectors import partner_recent_messages

from . import selectors, services
from .charts import monthly_bar_svg
from .forms import (
    ContactForm,
    DirectoryFilterForm,
    MergeSearchForm,
    PartnerForm,
    add_service_errors,
)
from .models import Partner

NAV = "partners"


def _redirect_if_merged(request: HttpRequest, partner: Partner) -> HttpResponse | None:
    """A merged partner's pages lead to the partner it was folded into; nothing is ever
    edited, added to or merged into a row that the directory no longer shows."""
    if partner.merged_into_id is None:
        return None
    survivor = selectors.partner_survivor(partner)
    messages.info(request, f"“{partner.name}” was merged into “{survivor.name}”.")
    return redirect("partners:detail", pk=survivor.pk)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- Directory -------------------------------------------------------------------------


@requires(Cap.PARTNERS_VIEW)
def partner_list(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET)
    filters = form.filters()
    # A name search shows its best matches in rank order on one page (the search caps how
    # many); the plain directory pages through everyone by name.
    searching = bool(filters["q"])
    page = None
    if searching:
        rows = selectors.directory_search(**filters)
    else:
        page = Paginator(selectors.partners_directory(**filters),
                         selectors.DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
        partners = list(page.object_list)
        counts = selectors.referral_counts_since(
            [p.pk for p in partners], selectors.twelve_months_ago()
        )
        rows = [(p, counts.get(p.pk, 0)) for p in partners]
    return render(request, "partners/list.html", {
        "nav": NAV, "form": form, "page": page, "searching": searching,
        "rows": rows,
    })


# --- Create and edit -------------------------------------------------------------------


@requires(Cap.PARTNERS_EDIT)
@require_http_methods(["GET", "POST"])
def partner_create_view(request: HttpRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.partner_create_with_tag_names(
                by=request.user, tag_names=form.cleaned_data["tags_text"],
                **form.service_fields(),
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"Added “{partner.name}”.")
            return redirect("partners:detail", pk=partner.pk)
    return render(request, "partners/form.html", {"nav": NAV, "form": form, "partner": None})


@requires(Cap.PARTNERS_EDIT)
@require_http_methods(["GET", "POST"])
def partner_edit(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.get_partner_for(request.user, pk)
    if moved := _redirect_if_merged(request, partner):
        return moved
    # The form writes what was typed onto its instance while validating; the heading and
    # the Cancel link must keep showing the stored partner.
    stored_name = partner.name
    form = PartnerForm(request.POST or None, instance=partner)
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_update_with_tag_names(
                partner=partner, by=request.user, tag_names=form.cleaned_data["tags_text"],
                **form.service_fields(),
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"Saved “{partner.name}”.")
            return redirect("partners:detail", pk=partner.pk)
    return render(request, "partners/form.html", {
        "nav": NAV, "form": form, "partner": partner, "stored_name": stored_name,
    })


# --- Detail ----------------------------------------------------------------------------


def _detail_context(request: HttpRequest, partner: Partner,
                    contact_form: ContactForm) -> dict[str, Any]:
    """Everything the detail page shows. Writes the audit rows for the patients it lists,
    because building this context is what puts their names on screen."""
    with_patients = has_cap(request.user, Cap.PATIENTS_VIEW)
    history = selectors.partner_referral_history(partner, with_patients=with_patients)
    if with_patients:
        audit_patients(
            request=request, patient_ids=[r.patient_id for r in history],
            action=AuditAction.VIEW, what=f"partner:{partner.pk}:referrals",
        )
    monthly = selectors.partner_monthly_counts(partner, months=24)
    return {
        "nav": NAV,
        "partner": partner,
        "contacts": partner.contacts.all(),
        "aliases": partner.aliases.order_by("name"),
        "tags": partner.tags.all(),
        "members": partner.members.live().order_by("name"),
        "history": history,
        "with_patients": with_patients,
        "chart": monthly_bar_svg(monthly, title=f"Referrals per month from {partner.name}"),
        "monthly_total": sum(n for _, n in monthly),
        "merges": selectors.partner_merge_history(partner),
        "removal": selectors.partner_open_removal(partner),
        "contact_form": contact_form,
        "open_followups": partner_open_followups(partner),
        "recent_messages": (partner_recent_messages(partner)
                            if has_cap(request.user, Cap.OUTBOX_VIEW) else None),
    }


@requires(Cap.PARTNERS_VIEW)
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.get_partner_for(request.user, pk)
    if moved := _redirect_if_merged(request, partner):
        return moved
    return render(request, "partners/detail.html",
                  _detail_context(request, partner, ContactForm()))


@requires(Cap.PARTNERS_EDIT)
@require_POST
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.get_partner_for(request.user, pk)
    if moved := _redirect_if_merged(request, partner):
        messages.error(request, "The contact was not saved; add it on this page.")
        return moved
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            contact = services.contact_create(partner=partner, by=request.user,
                                              **form.service_fields())
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"Added {contact.name} to the contacts.")
            return redirect(reverse("partners:detail", args=[partner.pk]) + "#contacts")
    # Re-render the detail page with the typed contact and its errors.
    return render(request, "partners/detail.html", _detail_context(request, partner, form))


# --- Merge -----------------------------------------------------------------------------


@requires(Cap.PARTNERS_MERGE)
def partner_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1: find the duplicate that should be folded into this partner."""
    survivor = selectors.get_partner_for(request.user, pk)
    if moved := _redirect_if_merged(request, survivor):
        return moved
    form = MergeSearchForm(request.GET or None)
    valid = form.is_valid()
    if valid and form.cleaned_data["duplicate"]:
        # The radio list is a plain GET form; its choice becomes the confirm step's URL.
        return redirect("partners:merge_confirm", pk=survivor.pk,
                        duplicate_pk=form.cleaned_data["duplicate"])
    q = form.cleaned_data["q"].strip() if valid else ""
    candidates = selectors.merge_candidates(survivor, q) if q else []
    return render(request, "partners/merge_search.html", {
        "nav": NAV, "survivor": survivor, "form": form, "q": q, "candidates": candidates,
    })


@requires(Cap.PARTNERS_MERGE)
@require_http_methods(["GET", "POST"])
def partner_merge_confirm(request: HttpRequest, pk: int, duplicate_pk: int) -> HttpResponse:
    """Step 2: both partners side by side with what will move; POST does the merge."""
    survivor = selectors.get_partner_for(request.user, pk)
    if moved := _redirect_if_merged(request, survivor):
        return moved
    duplicate = selectors.get_partner_for(request.user, duplicate_pk)
    back = redirect("partners:merge", pk=survivor.pk)
    if duplicate.pk == survivor.pk:
        messages.error(request, "A partner cannot be merged into itself; choose another.")
        return back
    if duplicate.merged_into_id:
        merged_into = selectors.partner_survivor(duplicate)
        messages.error(request, f"“{duplicate.name}” was already merged into "
                                f"“{merged_into.name}”.")
        return back
    if request.method == "POST":
        try:
            merge = services.partner_merge(survivor=survivor, duplicate=duplicate,
                                           by=request.user)
        except services.MergeError as e:
            messages.error(request, str(e))
            return back
        messages.success(
            request,
            f"Merged “{merge.merged_name}” into “{survivor.name}”: "
            f"{_count(merge.referrals_moved, 'referral')} and "
            f"{_count(merge.contacts_moved, 'contact')} moved.",
        )
        return redirect("partners:detail", pk=survivor.pk)
    return render(request, "partners/merge_confirm.html", {
        "nav": NAV,
        "survivor": survivor,
        "duplicate": duplicate,
        "survivor_counts": selectors.partner_move_counts(survivor),
        "moving": selectors.partner_move_counts(duplicate),
        "survivor_aliases": survivor.aliases.order_by("name"),
        "duplicate_aliases": duplicate.aliases.order_by("name"),
    })


# --- Remove and restore ----------------------------------------------------------------


@requires(Cap.PARTNERS_REMOVE)
def partner_gone_list(request: HttpRequest) -> HttpResponse:
    """Removed and merged partners, newest first: who, when, why, and where a merged one
    went. Removed ones can be restored from their page."""
    return render(request, "partners/gone.html", {
        "nav": NAV, "rows": selectors.partners_gone(),
    })


@requires(Cap.PARTNERS_REMOVE)
@require_POST
def partner_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.get_partner_for(request.user, pk)
    try:
        services.partner_remove(partner=partner, by=request.user,
                                reason=request.POST.get("reason", ""))
    except services.RemoveError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"Removed “{partner.name}”. It stays findable under "
                                  f"Removed and merged, and can be restored.")
    return redirect("partners:detail", pk=partner.pk)


@requires(Cap.PARTNERS_REMOVE)
@require_POST
def partner_restore_view(request: HttpRequest, pk: int) -> HttpResponse:
    partner = selectors.get_partner_for(request.user, pk)
    try:
        services.partner_restore(partner=partner, by=request.user)
    except services.RemoveError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"Restored “{partner.name}”.")
    return redirect("partners:detail", pk=partner.pk)
