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
