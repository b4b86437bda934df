"""The growth plan page (PIPELINE: everyone who works the network) and its editing
(PLAN_EDIT: managers, admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from refnet.accounts.permissions import Cap, has_cap, requires

from . import selectors, services
from .forms import GoalForm, ItemForm
from .models import Goal, PlanItem

NAV = "network"


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@requires(Cap.PIPELINE)
def plan(request: HttpRequest) -> HttpResponse:
    view = selectors.plan_view()
    return render(request, "growth/plan.html", {
        "nav": NAV, "view": view, "may_edit": has_cap(request.user, Cap.PLAN_EDIT),
        "situation": services.practice_situation() if not view.goals else None,
    })


@requires(Cap.PLAN_EDIT)
@require_POST
def plan_start_view(request: HttpRequest) -> HttpResponse:
    try:
        goals = services.plan_start(by=request.user,
                                    situation=services.practice_situation())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Started a plan with {len(goals)} goals. Edit it to fit "
                                  "the practice; each step is now in its owner's inbox.")
    return redirect("growth:plan")


def _goal_form(request: HttpRequest, goal: Goal | None) -> HttpResponse:
    initial = None
    if goal is not None:
        initial = {"title": goal.title, "why": goal.why, "target_number": goal.target_number,
                   "target_metric": goal.target_metric, "owner": goal.owner_id,
                   "due": goal.due, "status": goal.status}
    form = GoalForm(request.POST or None, initial=initial)
    if request.method == "POST" and goal is not None and request.POST.get("delete"):
        services.goal_delete(goal=goal, by=request.user)
        messages.success(request, f"Removed the goal “{goal.title}” and its items.")
        return redirect("growth:plan")
    if request.method == "POST" and form.is_valid():
        try:
            goal = services.goal_save(by=request.user, goal=goal, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Saved the goal “{goal.title}”.")
            return redirect("growth:plan")
    return render(request, "growth/goal_form.html", {"nav": NAV, "form": form, "goal": goal},
                  status=400 if form.errors else 200)


@requires(Cap.PLAN_EDIT)
@require_http_methods(["GET", "POST"])
def goal_new(request: HttpRequest) -> HttpResponse:
    return _goal_form(request, None)


@requires(Cap.PLAN_EDIT)
@require_http_methods(["GET", "POST"])
def goal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _goal_form(request, get_object_or_404(Goal, pk=pk))


def _item_form(request: HttpRequest, goal: Goal, item: PlanItem | None) -> HttpResponse:
    initial = {"owner": request.user.pk, "cadence": "once"}
    if item is not None:
        initial = {"title": item.title, "owner": item.owner_id, "cadence": item.cadence,
                   "next_due": item.next_due, "notes": item.notes, "active": item.active}
    form = ItemForm(request.POST or None, initial=initial)
    if request.method == "POST" and item is not None and request.POST.get("delete"):
        services.item_delete(item=item, by=request.user)
        messages.success(request, f"Removed “{item.title}”.")
        return redirect("growth:plan")
    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_save(by=request.user, goal=goal, item=item,
                                      **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Saved “{item.title}”.")
            return redirect("growth:plan")
    return render(request, "growth/item_form.html", {
        "nav": NAV, "form": form, "goal": goal, "item": item,
    }, status=400 if form.errors else 200)


@requires(Cap.PLAN_EDIT)
@require_http_methods(["GET", "POST"])
def item_new(request: HttpRequest, pk: int) -> HttpResponse:
    return _item_form(request, get_object_or_404(Goal, pk=pk), None)


@requires(Cap.PLAN_EDIT)
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(PlanItem.objects.select_related("goal"), pk=pk)
    return _item_form(request, item.goal, item)
