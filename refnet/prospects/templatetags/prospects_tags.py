"""{% fit_panel partner %}: the partner page's fit score, stage and last move."""

from typing import Any

from django import template

from refnet.accounts.permissions import Cap, has_cap

from .. import selectors

register = template.Library()


@register.inclusion_tag("prospects/_fit_panel.html", takes_context=True)
def fit_panel(context: template.Context, partner: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not has_cap(user, Cap.PIPELINE):
        return {"hidden": True}
    return {"partner": partner, "card": selectors.scorecard_of(partner),
            "last_change": selectors.last_stage_change(partner)}
