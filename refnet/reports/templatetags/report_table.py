"""{% report_cells cells %}: a report table row's <td> cells, drawn in Python.

A report shows up to a few thousand cells (partner health: ~250 partners by 11 columns), and
an include per cell (reports/_cell.html, as it was) cost ~25 µs each: 60 ms of a partner
health page. The cells are the view's dicts (views/reports.py: _cells): text, kind, link.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def report_cells(cells: list[dict[str, Any]]) -> SafeString:
    html = []
    for cell in cells:
        numeric = ' class="num"' if cell["kind"] not in ("text", "link") else ""
        if cell["link"]:
            html.append(format_html('<td{}><a href="{}">{}</a></td>\n', mark_safe(numeric),
                                    cell["link"], cell["text"]))
        else:
            html.append(format_html("<td{}>{}</td>\n", mark_safe(numeric), cell["text"]))
    return mark_safe("".join(html))  # noqa: S308 - each cell is escaped above
