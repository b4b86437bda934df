"""{% inbox_count %}: the number beside "Inbox" in the menu (overdue + due today)."""

from django import template

from refnet.followups.selectors import inbox_count as _inbox_count

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_count(context: template.Context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    return _inbox_count(user) if user is not None else 0
