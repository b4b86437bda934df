"""The referral list's rows, the board's cards and a referral's source, drawn in Python.

    {% load pipeline_rows %}
    {% referral_row r %}   {% board_cards column.cards %}   {% referral_source referral %}

The list shows 50 rows and the board 150 cards, and they are the pages coordinators and the
front desk open most. Drawn with template tags, filters and an include per row, a row cost
~200 µs (10 ms a list page, 15 ms a board: more than the queries behind them); written here
they cost a tenth of that. The HTML is the same the templates wrote; keep it in step with
referrals/detail.html and the tests (test_pipeline_list.py, test_pipeline_board.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from refnet.links import id_url
from refnet.referrals.models import Referral, SourceStatus

register = template.Library()


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _date_time(moment: datetime) -> str:
    """As the date filter's "m/d/Y g:i A", e.g. 03/05/2025 9:07 AM."""
    t = _local(moment)
    return f"{t:%m/%d/%Y} {t.hour % 12 or 12}:{t:%M} {'AM' if t.hour < 12 else 'PM'}"


@register.simple_tag
def referral_source(referral: Referral) -> SafeString:
    """Who referred: the unresolved badge with the patient's words, a link to the partner,
    or a dash."""
    if referral.source_status == SourceStatus.UNRESOLVED:
        badge = format_html('<span class="badge warn">{}</span>',
                            referral.get_source_status_display())
        if referral.source_text:
            badge += format_html(' <span class="muted small">“{}”</span>', referral.source_text)
        return badge
    if referral.source_partner_id:
        return format_html('<a href="{}">{}</a>',
                           id_url("partners:detail", referral.source_partner_id),
                           referral.source_partner)
    return mark_safe('<span class="muted">—</span>')


@register.simple_tag
def referral_row(r: Referral) -> SafeString:
    """One row of the referral list (its seven columns)."""
    received = _date_time(r.received_at)
    return format_html(
        "<tr>\n"
        '    <td><a href="{}" aria-label="Referral #{}, received {}">{}</a></td>\n'
        '    <td><a href="{}">{}</a></td>\n'
        "    <td>{}</td>\n"
        "    <td>{}</td>\n"
        "    <td>{}</td>\n"
        '    <td><span class="badge">{}</span></td>\n'
        "    <td>{}</td>\n"
        "  </tr>",
        id_url("referrals:detail", r.pk), r.pk, received, received,
        id_url("referrals:patient_detail", r.patient_id), r.patient,
        referral_source(r),
        r.location,
        r.service_line or "—",
        r.get_status_display(),
        r.assigned_to or "—",
    )


def board_card(r: Any) -> SafeString:
    """One card on the board: patient, day received, location, source (a
    referrals.selectors.BoardCard)."""
    if r.source_status == SourceStatus.UNRESOLVED:
        source = mark_safe('<span class="badge warn">Source unresolved</span>')
    else:
        source = r.source_partner if r.source_partner_id is not None else "—"
    return format_html(
        '<a class="cardlet" href="{}">\n'
        "      <strong>{}</strong><br>\n"
        '      <span class="muted">{} · {}</span><br>\n'
        "      {}\n"
        "    </a>",
        id_url("referrals:detail", r.pk), r.patient, f"{_local(r.received_at):%m/%d}",
        r.location, source,
    )


@register.simple_tag
def board_cards(cards: list[Any]) -> SafeString:
    """A column's cards, or "None", as the template's {% for %} ... {% empty %} loop wrote
    them (one tag call a column rather than one a card)."""
    if not cards:
        return mark_safe('\n    <p class="muted small">None</p>\n    ')
    return mark_safe("".join(  # noqa: S308 - board_card escapes every value
        f"\n    {board_card(r)}\n    " for r in cards))
