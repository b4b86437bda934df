"""Writes to the rule settings (a manager's page): one transaction each, the change history
kept by simple_history on FollowUpRule, and who changed an override on the row itself."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from refnet.partners.models import Partner

from ..models import FollowUpRule, PartnerRuleOverride, RuleKind, RuleMode
from .resolve import NO_AUTO

RULE_FIELDS = ("enabled", "mode", "due_days", "progress_after_evaluation",
               "progress_every_visits", "progress_every_days", "progress_at_discharge")
MAX_DUE_DAYS = 60


def _check(kind: str, fields: dict[str, Any]) -> None:
    if kind not in RuleKind.values:
        raise ValidationError({"kind": f"Unknown rule kind {kind!r}."})
    if fields.get("mode") and fields["mode"] not in RuleMode.values:
        raise ValidationError({"mode": f"Unknown mode {fields['mode']!r}."})
    if kind in NO_AUTO and fields.get("mode") == RuleMode.AUTO:
        raise ValidationError({"mode": "Asking a patient again is a task for a person: "
                                       "there is no message to send automatically."})
    due_days = fields.get("due_days")
    if due_days is not None and not 0 <= due_days <= MAX_DUE_DAYS:
        raise ValidationError({"due_days": f"Due days must be between 0 and {MAX_DUE_DAYS}."})
    for name in ("progress_every_visits", "progress_every_days"):
        if fields.get(name) is not None and fields[name] < 1:
            raise ValidationError({name: "Leave it empty, or give at least 1."})


@transaction.atomic
def rule_save(*, rule: FollowUpRule | None = None, kind: str | None = None,
              partner_kind: str = "", by: Any, **fields: Any) -> FollowUpRule:
    """Update a rule, or (rule None) add one for a partner kind that has none yet."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown rule setting(s): {', '.join(sorted(unknown))}.")
    if rule is None:
        if not partner_kind:
            raise ValidationError({"partner_kind": "Choose the kind of partner this rule is "
                                                   "for."})
        if FollowUpRule.objects.filter(kind=kind, partner_kind=partner_kind).exists():
            raise ValidationError({"partner_kind": "There is already a rule for this kind of "
                                                   "partner: edit it instead."})
        rule = FollowUpRule(kind=kind, partner_kind=partner_kind)
    _check(rule.kind, fields)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.updated_by = by
    rule._history_user = by
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def rule_delete(*, rule: FollowUpRule, by: Any) -> None:
    """Remove a partner kind's rule (its partners follow the default again). The default
    rows stay: they are what "off" and "on" are measured against."""
    if not rule.partner_kind:
        raise ValidationError({"partner_kind": "The default rule cannot be removed; turn it "
                                               "off instead."})
    rule._history_user = by
    rule.delete()


@transaction.atomic
def partner_override_save(*, partner: Partner, kind: str, by: Any, follow_rule: bool,
                          enabled: bool = True, mode: str = "",
                          due_days: int | None = None) -> PartnerRuleOverride | None:
    """Set one partner's exception to a rule; follow_rule=True removes it."""
    _check(kind, {"mode": mode, "due_days": due_days})
    if follow_rule:
        PartnerRuleOverride.objects.filter(partner=partner, kind=kind).delete()
        return None
    override, _ = PartnerRuleOverride.objects.select_for_update().get_or_create(
        partner=partner, kind=kind)
    override.enabled = enabled
    override.mode = mode if enabled else ""
    override.due_days = due_days if enabled else None
    override.updated_by = by
    override.full_clean()
    override.save()
    return override
