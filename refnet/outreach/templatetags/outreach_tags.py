"""The partner page's events panel: events this partner was invited to or attended."""

from django import template

from refnet.accounts.permissions import Cap, has_cap

from ..selectors import partner_events

register = template.Library()


@register.inclusion_tag("outreach/_partner_panel.html", takes_context=True)
def events_panel(context, partner):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not has_cap(user, Cap.EVENTS):
        return {"rows": None}
    return {"rows": partner_events(partner)[:20]}
