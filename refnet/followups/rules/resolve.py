"""Which rule applies: a partner's override over the rule for its kind over the default rule
over the built-in defaults, and the guards no setting can lift (do-not-contact, merged,
clinical-only kinds)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from refnet.partners.models import CLINICAL_KINDS, Partner, PartnerKind

from ..models import FollowUpRule, PartnerRuleOverride, RuleKind, RuleMode

# What the practice promises when nobody has configured anything (the data migration
# writes the same values as the default rows, so the settings page starts from them).
BUILTIN: dict[str, dict[str, Any]] = {
    RuleKind.THANK_REFERRER: {"enabled": True, "due_days": 2},
    RuleKind.OUTCOME_UPDATE: {"enabled": True, "due_days": 2},
    RuleKind.PROGRESS_REPORT: {"enabled": False, "due_days": 2},
    RuleKind.CHECK_IN: {"enabled": True, "due_days": 0},  # the partner's cadence decides
    RuleKind.REENGAGE: {"enabled": True, "due_days": 5},
    RuleKind.ASK_SOURCE: {"enabled": True, "due_days": 1},
}

# Clinical detail goes only to covered entities (COMPLIANCE.md): no setting turns these on
# for a gym or a patient who sent a friend.
CLINICAL_ONLY = frozenset({RuleKind.OUTCOME_UPDATE, RuleKind.PROGRESS_REPORT})
# Kinds that contact the partner: none for do-not-contact or merged partners.
CONTACTING = frozenset({RuleKind.THANK_REFERRER, RuleKind.OUTCOME_UPDATE,
                        RuleKind.PROGRESS_REPORT, RuleKind.CHECK_IN, RuleKind.REENGAGE})
# Asking the patient again is an internal task: there is no message to send automatically.
NO_AUTO = frozenset({RuleKind.ASK_SOURCE})


@dataclass(frozen=True)
class EffectiveRule:
    kind: str
    mode: str = RuleMode.REMIND
    due_days: int = 2
    progress_after_evaluation: bool = True
    progress_every_visits: int | None = None
    progress_every_days: int | None = None
    progress_at_discharge: bool = True
    # Where the setting came from ("built-in", "default rule", "clinician rule",
    # "partner override"): shown on the settings pages.
    source: str = "built-in"


@dataclass(frozen=True)
class PartnerFacts:
    """What the rules need to know about a partner, loadable in bulk with .values()."""

    id: int
    kind: str
    name: str
    owner_id: int | None = None
    do_not_contact: bool = False
    merged_into_id: int | None = None
    cadence_days: int = 90

    FIELDS = ("id", "kind", "name", "owner_id", "do_not_contact", "merged_into_id",
              "cadence_days")

    @classmethod
    def of(cls, partner: Partner) -> PartnerFacts:
        return cls(**{f: getattr(partner, f) for f in cls.FIELDS})

    @classmethod
    def load(cls, ids: Iterable[int]) -> dict[int, PartnerFacts]:
        ids = list(set(ids))
        found: dict[int, PartnerFacts] = {}
        for start in range(0, len(ids), 2000):
            for row in Partner.objects.filter(pk__in=ids[start:start + 2000]).values(
                    *cls.FIELDS):
                found[row["id"]] = cls(**row)
        return found


class RuleBook:
    """The rule table (a few dozen rows) and the overrides of the partners at hand, read
    once for a batch so that resolving a rule per partner costs no query."""

    def __init__(self) -> None:
        self.rules = {(r.kind, r.partner_kind): r for r in FollowUpRule.objects.all()}
        self.overrides: dict[tuple[int, str], PartnerRuleOverride] = {}
        self._loaded: set[int] = set()
        self._all_loaded = False
        # base() per (kind, partner kind): the rule table is read once, so is each answer.
        self._base: dict[tuple[str, str], EffectiveRule | None] = {}

    def load_overrides(self, partner_ids: Iterable[int] | None = None,
                       kinds: Iterable[str] | None = None) -> None:
        """Read the overrides of these partners (None: every partner; there are few)."""
        rows = PartnerRuleOverride.objects.all()
        if kinds is not None:
            rows = rows.filter(kind__in=list(kinds))
        if partner_ids is None:
            self._all_loaded = True
            for o in rows:
                self.overrides[(o.partner_id, o.kind)] = o
            return
        wanted = [pk for pk in set(partner_ids) if pk not in self._loaded]
        if len(wanted) > 2000 and kinds is None:
            # Overrides are few: one read of them all beats a query per 2,000 partners.
            self.load_overrides(None)
            return
        for start in range(0, len(wanted), 2000):
            for o in rows.filter(partner_id__in=wanted[start:start + 2000]):
                self.overrides[(o.partner_id, o.kind)] = o
        self._loaded.update(wanted)

    def any_enabled(self, kind: str) -> bool:
        """Could this kind fire for anyone? (Skips whole passes when it cannot.)"""
        if BUILTIN[kind]["enabled"] or any(r.enabled for (k, _), r in self.rules.items()
                                           if k == kind):
            return True
        return any(o.enabled for (_, k), o in self.overrides.items() if k == kind) or \
            PartnerRuleOverride.objects.filter(kind=kind, enabled=True).exists()

    def base(self, kind: str, partner_kind: str = "") -> EffectiveRule | None:
        """The rule for a kind of partner, before any partner's own override."""
        try:
            return self._base[(kind, partner_kind)]
        except KeyError:
            rule = self._base[(kind, partner_kind)] = self._resolve_base(kind, partner_kind)
            return rule

    def _resolve_base(self, kind: str, partner_kind: str) -> EffectiveRule | None:
        builtin = BUILTIN[kind]
        enabled = builtin["enabled"]
        rule = EffectiveRule(kind=kind, due_days=builtin["due_days"])
        layers = [("", "default rule")]
        if partner_kind:
            layers.append((partner_kind, f"{PartnerKind(partner_kind).label.lower()} rule"))
        for key, label in layers:
            row = self.rules.get((kind, key))
            if row is None:
                continue
            enabled = row.enabled
            rule = EffectiveRule(
                kind=kind, mode=row.mode, due_days=row.due_days,
                progress_after_evaluation=row.progress_after_evaluation,
                progress_every_visits=row.progress_every_visits,
                progress_every_days=row.progress_every_days,
                progress_at_discharge=row.progress_at_discharge,
                source=label,
            )
        if kind in NO_AUTO and rule.mode != RuleMode.REMIND:
            rule = replace(rule, mode=RuleMode.REMIND)
        return rule if enabled else None

    def for_partner(self, kind: str, partner: PartnerFacts | None) -> EffectiveRule | None:
        """The rule for this partner, or None when it does not apply to them."""
        if partner is None:
            return self.base(kind) if kind not in CONTACTING else None
        if kind in CONTACTING and (partner.do_not_contact or partner.merged_into_id
                                   or partner.kind == PartnerKind.MARKETING_CHANNEL):
            # Marketing channels (a search engine, a website) are sources, not people:
            # there is nobody to thank or check in with.
            return None
        if kind in CLINICAL_ONLY and partner.kind not in CLINICAL_KINDS:
            return None
        if not self._all_loaded and partner.id not in self._loaded:
            self.load_overrides([partner.id])
        rule = self.base(kind, partner.kind)
        override = self.overrides.get((partner.id, kind))
        if override is None:
            return rule
        if not override.enabled:
            return None
        if rule is None:
            # Off for the partner kind, on for this one partner: start from the defaults.
            rule = EffectiveRule(kind=kind, due_days=BUILTIN[kind]["due_days"])
        rule = replace(rule, source="partner override")
        if override.mode and kind not in NO_AUTO:
            rule = replace(rule, mode=override.mode)
        if override.due_days is not None:
            rule = replace(rule, due_days=override.due_days)
        return rule


def effective_rule(*, kind: str, partner: Partner | PartnerFacts | None) -> EffectiveRule | None:
    """The rule that applies to this partner for this kind of follow-up; None: it is off
    for them (turned off, do-not-contact, merged, or clinical-only and they are not)."""
    if kind not in BUILTIN:
        raise ValueError(f"Unknown rule kind {kind!r}.")
    if isinstance(partner, Partner):
        partner = PartnerFacts.of(partner)
    return RuleBook().for_partner(kind, partner)
