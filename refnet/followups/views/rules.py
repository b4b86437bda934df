"""Rule settings (RULES_EDIT: managers, admins): the rules by kind and partner kind, a new
rule for a partner kind, and one partner's exceptions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from refnet.accounts.permissions import Cap, requires
from refnet.partners.models import Partner, PartnerKind

from ..forms import NewRuleForm, OverrideForm, RuleForm
from ..models import FollowUpRule, PartnerRuleOverride, RuleKind
from ..rules.config import partner_override_save, rule_delete, rule_save
from ..rules.resolve import BUILTIN, PartnerFacts, RuleBook

NAV = "rules"


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@requires(Cap.RULES_EDIT)
def rules_list(request: HttpRequest) -> HttpResponse:
    rules = list(FollowUpRule.objects.select_related("updated_by"))
    groups = []
    for kind in RuleKind:
        rows = [r for r in rules if r.kind == kind]
        groups.append({"kind": kind, "rows": rows, "builtin": BUILTIN[kind],
                       "has_default": any(not r.partner_kind for r in rows)})
    return render(request, "followups/rules.html", {
        "nav": NAV, "groups": groups, "new_form": NewRuleForm(),
        "kinds": PartnerKind,
    })


@requires(Cap.RULES_EDIT)
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(FollowUpRule, pk=pk)
    form = RuleForm(request.POST or None, instance=FollowUpRule.objects.get(pk=rule.pk))
    if request.method == "POST":
        if request.POST.get("delete"):
            try:
                rule_delete(rule=rule, by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("followups:rule_edit", pk=rule.pk)
            messages.success(request, f"Removed the rule “{rule}”.")
            return redirect("followups:rules")
        if form.is_valid():
            try:
                rule_save(rule=rule, by=request.user, **form.values())
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"Saved “{rule}”.")
                return redirect("followups:rules")
    history = rule.history.select_related("history_user").order_by("-history_date")[:10]
    return render(request, "followups/rules_edit.html", {
        "nav": NAV, "rule": rule, "form": form, "history": history,
    }, status=400 if form.errors else 200)


@requires(Cap.RULES_EDIT)
@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    form = NewRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = rule_save(kind=form.cleaned_data["kind"],
                             partner_kind=form.cleaned_data["partner_kind"], by=request.user,
                             **form.values())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Added “{rule}”.")
            return redirect("followups:rules")
    return render(request, "followups/rules_add.html", {"nav": NAV, "form": form}, status=400)


@requires(Cap.RULES_EDIT)
@require_http_methods(["GET", "POST"])
def partner_rules(request: HttpRequest, pk: int) -> HttpResponse:
    partner = get_object_or_404(Partner, pk=pk)
    posted_kind = request.POST.get("kind") if request.method == "POST" else None
    if posted_kind is not None and posted_kind not in RuleKind.values:
        messages.error(request, f"Unknown rule kind {posted_kind!r}.")
        return redirect("followups:partner_rules", pk=partner.pk)
    overrides = {o.kind: o for o in PartnerRuleOverride.objects.filter(partner=partner)}
    book = RuleBook()
    facts = PartnerFacts.of(partner)
    rows, failed = [], False
    for kind in RuleKind:
        override = overrides.get(kind)
        initial = {"setting": OverrideForm.FOLLOW}
        if override is not None:
            initial = {"setting": OverrideForm.CUSTOM if override.enabled else OverrideForm.OFF,
                       "mode": override.mode, "due_days": override.due_days}
        if kind == posted_kind:
            form = OverrideForm(request.POST, prefix=kind)
            if form.is_valid():
                try:
                    partner_override_save(partner=partner, kind=kind, by=request.user,
                                          **form.service_args())
                except ValidationError as error:
                    _add_errors(form, error)
                else:
                    messages.success(request, f"Saved: {kind.label.lower()} for "
                                              f"{partner.name}.")
                    return redirect("followups:partner_rules", pk=partner.pk)
            failed = True
        else:
            form = OverrideForm(initial=initial, prefix=kind)
        rows.append({"kind": kind, "form": form, "override": override,
                     "base": book.base(kind, partner.kind),
                     "effective": book.for_partner(kind, facts)})
    return render(request, "followups/partner_rules.html", {
        "nav": NAV, "partner": partner, "rows": rows,
    }, status=400 if failed else 200)
