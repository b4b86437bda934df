"""{% main_menu %}: the menu at the top of every page.

Its links depend only on what the user's role may do (`can`) and the current section
(`nav`), so each combination is rendered once per process (~0.5 ms of template work that
every page paid: two dozen {% url %} and {% if %}) and kept; the one live part, the count
beside "Inbox" (overdue and due today), is filled in on each request. A deploy restarts
the processes, so a changed menu is never served from an old copy."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe

from refnet.followups.selectors import inbox_count

register = template.Library()

_LABEL = "\x00inbox-label\x00"
_SHOWN = "\x00inbox-shown\x00"
_MENUS: dict[tuple, tuple[str, ...]] = {}  # (capabilities, nav, prefix) -> the menu, cut
                                           # at the count


def _menu(can, nav: str) -> tuple[str, ...]:
    key = (frozenset(name for name, allowed in can.items() if allowed), nav,
           get_script_prefix())  # the links' prefix, should one process serve two
    parts = _MENUS.get(key)
    if parts is None:
        html = render_to_string("_menu.html", {"can": can, "nav": nav,
                                               "inbox_label": _LABEL, "inbox_shown": _SHOWN})
        if _LABEL in html:
            before, rest = html.split(_LABEL)
            between, after = rest.split(_SHOWN)
            parts = (before, between, after)
        else:
            parts = (html,)
        _MENUS[key] = parts
    return parts


@register.simple_tag(takes_context=True)
def main_menu(context: template.Context) -> str:
    parts = _menu(context.get("can") or {}, context.get("nav") or "")
    if len(parts) == 1:
        return mark_safe(parts[0])
    request = context.get("request")
    user = getattr(request, "user", None)
    n = inbox_count(user) if user is not None else 0
    return mark_safe(f"{parts[0]}{n}{parts[1]}{n or ''}{parts[2]}")
