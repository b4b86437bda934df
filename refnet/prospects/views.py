"""The pipeline board, moving a card, a partner's fit scorecard, the weights.

Views parse, check, call a selector or service, and render. Moves answer htmx with the
board again (counts and cards in step, a status line) and redirect back without JS. Nothing
here shows a patient: cards carry referral counts and dates only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from refnet.accounts.models import Role, User
from refnet.accounts.permissions import Cap, has_cap, requires
from refnet.partners.models import Stage
from refnet.partners.selectors import get_partner_for, partner_survivor

from . import selectors, services
from .forms import BoardFilterForm, MoveForm, ScorecardForm, WeightsForm
from .models import CriterionKind
from .scoring import DISTANCE_BANDS, distance_points

NAV = "network"


def _default_owner(user: User) -> str:
    # Outreach works their own prospects; coordinators and managers oversee everyone's.
    return "me" if user.role == Role.OUTREACH else "all"


def _board_filters(request: HttpRequest, source: Any) -> BoardFilterForm:
    return BoardFilterForm(source, default_owner=_default_owner(request.user))


def _board_context(request: HttpRequest, form: BoardFilterForm) -> dict[str, Any]:
    values = form.values()
    owner_value = values["owner"]
    owner: Any = None
    unowned = False
    if owner_value == "me":
        owner = request.user
    elif owner_value == "none":
        unowned = True
    elif owner_value.isdigit():
        owner = User.objects.filter(pk=int(owner_value)).first()
    columns = selectors.pipeline_board(owner=owner, unowned=unowned, kind=values["kind"])
    list_filter: dict[str, Any] = {}
    if owner is not None:
        list_filter["owner"] = owner.pk
    if values["kind"]:
        list_filter["kind"] = values["kind"]
    return {
        "nav": NAV, "form": form, "columns": columns, "filters": values,
        "list_query": urlencode(list_filter), "stages": Stage.choices,
        "limit": selectors.BOARD_COLUMN_LIMIT, "unowned": unowned,
        "total": sum(c.count for c in columns),
    }


def _board_url(filters: dict[str, str]) -> str:
    return f"{reverse('prospects:board')}?{urlencode(filters)}"


@requires(Cap.PIPELINE)
@require_http_methods(["GET"])
def board(request: HttpRequest) -> HttpResponse:
    form = _board_filters(request, request.GET)
    return render(request, "prospects/board.html", _board_context(request, form))


@requires(Cap.PIPELINE)
@require_POST
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    partner = get_partner_for(request.user, pk)
    filters_form = _board_filters(request, request.POST)
    form = MoveForm(request.POST)
    status, error = "", ""
    if not form.is_valid():
        error = " ".join(m for msgs in form.errors.values() for m in msgs)
    else:
        try:
            change = services.partner_stage_move(
                partner=partner, to_stage=form.cleaned_data["to_stage"], by=request.user,
                note=form.cleaned_data["note"],
                expected_from=form.cleaned_data["from_stage"] or None,
            )
        except ValidationError as e:
            error = " ".join(e.messages)
        else:
            status = (f"Moved “{partner.name}” from {change.get_from_stage_display()} to "
                      f"{change.get_to_stage_display()}.")
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, status)
        return redirect(_board_url(filters_form.values()))
    context = _board_context(request, filters_form)
    context.update(status=status, error=error, moved=partner.pk)
    return render(request, "prospects/_board.html", context)


# --- Scorecard -------------------------------------------------------------------------


@requires(Cap.PIPELINE)
@require_http_methods(["GET", "POST"])
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    partner = get_partner_for(request.user, pk)
    if partner.merged_into_id:
        survivor = partner_survivor(partner)
        messages.info(request, f"“{partner.name}” was merged into “{survivor.name}”.")
        return redirect("prospects:scorecard", pk=survivor.pk)
    criteria = selectors.criteria()
    card = selectors.scorecard_of(partner)
    if request.method == "POST":
        form = ScorecardForm(request.POST, criteria=criteria)
        if form.is_valid():
            before = card.score if card else None
            try:
                card = services.scorecard_save(
                    partner=partner, answers=form.answers(),
                    why_refer=form.cleaned_data["why_refer"], by=request.user,
                )
            except ValidationError as e:
                form.add_error(None, e.messages)
            else:
                messages.success(request, f"Saved the scorecard: fit score "
                                          f"{_score_text(before)} → {_score_text(card.score)}.")
                return redirect("prospects:scorecard", pk=partner.pk)
    else:
        form = ScorecardForm(
            initial=ScorecardForm.initial_from(card.answers, card.why_refer) if card else None,
            criteria=criteria,
        )
    location, miles = services.nearest_location(partner)
    convenience = next((c for c in criteria if c.kind == CriterionKind.DISTANCE), None)
    return render(request, "prospects/scorecard.html", {
        "nav": NAV, "partner": partner, "card": card, "form": form,
        "groups": _grouped(form.rows()), "convenience": convenience,
        "location": location, "miles": miles,
        "points": distance_points(miles),
        "bands": DISTANCE_BANDS, "history": selectors.score_history(card),
        "last_change": selectors.last_stage_change(partner),
        "may_edit_weights": has_cap(request.user, Cap.FIT_WEIGHTS_EDIT),
    })


def _score_text(score: int | None) -> str:
    return "no score" if score is None else str(score)


def _grouped(rows: list[tuple[Any, Any]]) -> list[tuple[str, list[tuple[Any, Any]]]]:
    groups: list[tuple[str, list[tuple[Any, Any]]]] = []
    for criterion, field in rows:
        if not groups or groups[-1][0] != criterion.group:
            groups.append((criterion.group, []))
        groups[-1][1].append((criterion, field))
    return groups


@requires(Cap.FIT_WEIGHTS_EDIT)
@require_http_methods(["GET", "POST"])
def weights(request: HttpRequest) -> HttpResponse:
    criteria = selectors.criteria()
    form = WeightsForm(request.POST or None, criteria=criteria)
    if request.method == "POST" and form.is_valid():
        try:
            rescored = services.fit_weights_set(weights=form.weights(), by=request.user)
        except ValidationError as e:
            form.add_error(None, e.messages)
        else:
            messages.success(request, "Saved the weights; the fit score changed for "
                                      f"{rescored} partner{'' if rescored == 1 else 's'}.")
            return redirect("prospects:weights")
    return render(request, "prospects/weights.html", {
        "nav": NAV, "form": form, "history": selectors.weight_history(),
        "bands": DISTANCE_BANDS,
    })
