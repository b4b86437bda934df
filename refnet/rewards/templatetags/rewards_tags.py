"""{% rewards_panel partner %}: the Appreciation card on a partner's page."""

from typing import Any

from django import template
from django.utils import timezone

from refnet.accounts.permissions import Cap, has_cap
from refnet.rewards.selectors import partner_year

register = template.Library()


@register.inclusion_tag("rewards/_panel.html", takes_context=True)
def rewards_panel(context: template.Context, partner: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not has_cap(user, Cap.REWARDS_LOG) or partner.merged_into_id:
        return {"hidden": True}
    return {"partner": partner, "year": partner_year(partner, timezone.localdate())}


@register.simple_tag(takes_context=True)
def year_summary(context: template.Context, year: Any) -> str:
    """"$60.00 given in 2026 of $75.00 cap ($15.00 left)" and its variants, one wording for
    the panel and the log. For a patient referrer, whether a cap applies tells whether the
    patient is a Medicare/Medicaid beneficiary: roles that may not see patients are told
    only that patient limits are checked when a reward is issued."""
    from refnet.rewards.checks import PATIENT, PHYSICIAN, program_enabled

    request = context.get("request")
    user = getattr(request, "user", None)
    d = year.decision
    text = f"${d.spent:,.2f} given in {d.year}"
    if d.group == PATIENT and not program_enabled():
        text += "; the patient referral program is off, so no reward can be issued"
    elif d.group == PATIENT and not has_cap(user, Cap.PATIENTS_VIEW):
        text += "; patient gift limits are checked when a reward is issued"
    elif d.cap is not None:
        text += f" of ${d.cap:,.2f} cap (${d.remaining:,.2f} left)"
    elif d.group == PHYSICIAN:
        text += f"; no cap set for {d.year}"
    else:
        text += "; no cap applies"
    if year.refused:
        text += f"; {year.refused} refused attempt{'s' if year.refused != 1 else ''}"
    return text + "."
