"""The referral pipeline: the list, the board, one referral, one patient.

Every page that shows a patient writes the audit trail (COMPLIANCE.md: every view of
patient data is logged) before it renders.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import Cap, has_cap, requires
from refnet.practice.models import Location, ServiceLine

from .. import selectors, services
from ..forms import BoardFilterForm, ReferralFilterForm, ResolveSourceForm, TransitionForm
from ..models import Outcome, Referral, ReferralStatus, SourceStatus

SOURCE_SEARCH_LIMIT = 25


class CappedPaginator(Paginator):
    """Counts at most `cap` rows. Past that the list says "more than 20,000 referrals"
    and offers pages up to the cap, instead of counting every referral on every request
    (400,000 unfiltered or closed ones: 15-30 ms on SQLite or PostgreSQL, where a capped
    count takes 1-5 ms). Nobody pages 400 pages deep; they filter.

    `counted`: the rows to count when object_list selects columns of other tables (a
    values_list() with joins), so that the count reads one index, not the joined rows.
    `known`: the exact count, when a kept count already has it (shown the same way)."""

    def __init__(self, object_list: Any, per_page: int, *, cap: int,
                 counted: Any = None, known: int | None = None) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap
        self.counted = object_list if counted is None else counted
        self.known = known  # the exact count, when something cheaper already knows it

    @cached_property
    def _counted(self) -> int:
        if self.known is not None:
            return self.known
        return self.counted.order_by()[: self.cap + 1].count()

    @property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def more_than(self) -> int:
        """The cap when there are more rows than it, else 0 (the count is exact)."""
        return self.cap if self._counted > self.cap else 0


@requires(Cap.REFERRALS_VIEW)
@require_GET
def referral_list(request: HttpRequest) -> HttpResponse:
    form = ReferralFilterForm(request.GET)
    form.is_valid()  # invalid fields are reported on the page and left out of cleaned_data
    data = form.cleaned_data
    source_name = data.get("source_name", "").strip()
    source_matches = (
        selectors.source_candidates(source_name, limit=SOURCE_SEARCH_LIMIT)
        if source_name else []
    )
    source_ids: list[int] | None = None
    if data.get("source") is not None:
        source_ids = [data["source"].pk]
    if source_name:
        matched = [c.partner.pk for c in source_matches]
        source_ids = matched if source_ids is None else sorted(set(source_ids) & set(matched))
    referrals = selectors.referrals_list(
        status=data.get("status", ""),
        source_partner_ids=source_ids,
        location=data.get("location"),
        service_line=data.get("service_line"),
        received_from=data.get("received_from"),
        received_to=data.get("received_to"),
        unresolved_only=data.get("unresolved", False),
        reached=data.get("reached", ""),
    )
    # Filtered by an open status alone (and perhaps a location), as most list pages are:
    # the count triggers keep (the board's) instead of counting up to 20,001 index entries.
    status = data.get("status", "")
    only_status = (status in selectors.OPEN_STATUS_FILTERS and source_ids is None
                   and not any(data.get(f) for f in ("service_line", "received_from",
                                                     "received_to", "unresolved", "reached")))
    known = (selectors.open_status_count(status, data.get("location")) if only_status
             else None)
    page = CappedPaginator(selectors.referral_list_values(referrals), selectors.PAGE_SIZE,
                           cap=selectors.LIST_COUNT_CAP, counted=referrals, known=known,
                           ).get_page(request.GET.get("page"))
    # The few locations and service lines once: the rows name theirs, the filter's key
    # lists them all.
    locations, service_lines = Location.objects.in_bulk(), ServiceLine.objects.in_bulk()
    page.object_list = selectors.referral_list_rows(page.object_list, locations=locations,
                                                    service_lines=service_lines)
    audit_patients(request=request, patient_ids=[r.patient_id for r in page],
                   action=AuditAction.QUERY, what="referrals:list")
    return render(request, "referrals/list.html", {
        "nav": "referrals",
        "form": form,
        "filters_key": _filters_key(form, [*locations.values(), *service_lines.values()],
                                    data.get("source")),
        "page": page,
        "source_partner": data.get("source"),
        "reached": data.get("reached", ""),
        "source_name": source_name,
        "source_matches": [c.partner for c in source_matches],
    })


def _filters_key(form: ReferralFilterForm, choices: list[Location | ServiceLine],
                 source_partner: Any) -> str:
    """A key naming everything the list's filter fields draw from, so that the page renders
    them once per process, not per request (eight widgets with their labels were a sixth of
    the page's CPU): the query string's value of every field, every column of the location
    and service-line choices, whether the source filter names a partner that exists."""
    parts = (
        get_language(),
        [(name, form.data.getlist(name)) for name in form.fields],
        [(type(c).__name__, [getattr(c, f.attname) for f in c._meta.concrete_fields])
         for c in choices],
        source_partner.pk if source_partner is not None else None,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@requires(Cap.REFERRALS_VIEW)
@require_GET
def referral_board(request: HttpRequest) -> HttpResponse:
    form = BoardFilterForm(request.GET)
    form.is_valid()
    location = form.cleaned_data.get("location")
    columns = selectors.referrals_board(location=location)
    audit_patients(request=request,
                   patient_ids=[card.patient_id for col in columns for card in col.cards],
                   action=AuditAction.QUERY, what="referrals:board")
    return render(request, "referrals/board.html", {
        "nav": "board",
        "form": form,
        "location": location,
        "columns": columns,
        "card_limit": selectors.BOARD_CARDS,
        "closed_days": selectors.BOARD_CLOSED_DAYS,
    })


@requires(Cap.REFERRALS_VIEW)
@require_GET
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # A removed referral's page still opens, marked removed, for those who may restore it.
    referral = selectors.get_referral_for(request.user, pk, removed_too=True)
    audit_patients(request=request, patient_ids=[referral.patient_id],
                   action=AuditAction.VIEW, what=f"referral:{referral.pk}")
    return render(request, "referrals/detail.html", _detail_context(request, referral))


def _detail_context(request: HttpRequest, referral: Referral) -> dict[str, Any]:
    user = request.user
    live = referral.removed_at is None  # a removed referral is only read, or restored
    may_resolve = (live and referral.source_status == SourceStatus.UNRESOLVED
                   and has_cap(user, Cap.INTAKE))
    source_query = request.GET.get("q", "").strip() if may_resolve else ""
    return {
        "nav": "referrals",
        "referral": referral,
        "patient": referral.patient,
        "events": selectors.referral_timeline(referral),
        "show_clinical": has_cap(user, Cap.CLINICAL_VIEW),
        "may_work": live and has_cap(user, Cap.REFERRALS_WORK),
        "may_remove": has_cap(user, Cap.REFERRALS_REMOVE),
        "removal": selectors.referral_open_removal(referral),
        "next_statuses": [ReferralStatus(s) for s in referral.allowed_next()],
        "closed_lost": ReferralStatus.CLOSED_LOST,
        "outcomes": Outcome.choices,
        "may_resolve": may_resolve,
        "source_query": source_query,
        "source_candidates": (
            selectors.source_candidates(source_query) if source_query else []
        ),
    }


@requires(Cap.REFERRALS_WORK)
@require_POST
def referral_transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.get_referral_for(request.user, pk, joined=False)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing changed: " + _errors_text(form.errors))
    else:
        to_status = form.cleaned_data["to_status"]
        try:
            services.referral_transition(
                referral=referral, to_status=to_status, by=request.user,
                note=form.cleaned_data["note"], outcome=form.cleaned_data["outcome"],
                expected_status=form.cleaned_data["from_status"],
            )
        except ValidationError as e:
            messages.error(request, "Nothing changed: " + " ".join(e.messages))
        else:
            audit_patients(request=request, patient_ids=[referral.patient_id],
                           action=AuditAction.UPDATE, what=f"referral:{referral.pk}:status")
            messages.success(request, f"Moved to {ReferralStatus(to_status).label}.")
    return redirect("referrals:detail", pk=referral.pk)


# Front desk asks the patient again and records the answer; coordinators hold Cap.INTAKE too.
@requires(Cap.INTAKE)
@require_POST
def referral_resolve_source_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = selectors.get_referral_for(request.user, pk)
    form = ResolveSourceForm(request.POST)
    back = reverse("referrals:detail", args=[referral.pk])
    query = request.POST.get("q", "").strip()
    if not form.is_valid():
        messages.error(request, _errors_text(form.errors))
        # Back to the same search, so the choices are still on screen.
        return redirect(f"{back}?{urlencode({'q': query})}#source" if query
                        else f"{back}#source")
    partner, contact = form.cleaned_data["source"]
    try:
        services.referral_resolve_source(
            referral=referral, partner=partner, contact=contact, by=request.user
        )
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
        return redirect(f"{back}#source")
    audit_patients(request=request, patient_ids=[referral.patient_id],
                   action=AuditAction.UPDATE, what=f"referral:{referral.pk}:source")
    referral.refresh_from_db(fields=["source_partner"])
    messages.success(request, f"Source recorded: {referral.source_partner}.")
    return redirect(back)


@requires(Cap.REFERRALS_VIEW)
@require_GET
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = selectors.get_patient_for(request.user, pk)
    audit_patients(request=request, patient_ids=[patient.pk],
                   action=AuditAction.VIEW, what=f"patient:{patient.pk}")
    return render(request, "referrals/patient_detail.html", {
        "nav": "referrals",
        "patient": patient,
        "referrals": selectors.patient_referrals(patient),
        "show_clinical": has_cap(request.user, Cap.CLINICAL_VIEW),
    })


def _errors_text(errors: Any) -> str:
    return " ".join(str(m) for msgs in errors.values() for m in msgs)
