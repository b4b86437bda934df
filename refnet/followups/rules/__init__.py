"""The rules engine: what the practice promises (followups.models.FollowUpRule), turned into
follow-ups with a due time, an assignee and a unique key.

- resolve.py: which rule applies to a partner (override > partner kind > default > built-in)
- timing.py: business-day due times at 17:00 local, who gets the follow-up
- engine.py: batches of planned follow-ups, the referral rules, the service hooks
- partner_pass.py: the daily pass (check-ins, gone quiet, progress every N days)
- tick.py: rules_tick (incremental) and rules_full_pass

See docs/closed-loop.md for the keys and the contract.
"""

from .engine import (
    on_referral_recorded,
    on_referral_transition,
    on_source_resolved,
    on_visit_recorded,
)
from .resolve import BUILTIN, EffectiveRule, effective_rule
from .tick import rules_full_pass, rules_tick
from .timing import add_business_days, due_after

__all__ = [
    "BUILTIN", "EffectiveRule", "add_business_days", "due_after", "effective_rule",
    "on_referral_recorded", "on_referral_transition", "on_source_resolved",
    "on_visit_recorded", "rules_full_pass", "rules_tick",
]
