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
from html import escape as _escape
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from refnet.links import id_url
from refnet.referrals.models import Referral, SourceStatus
from refnet.referrals.selectors import ReferralListRow

register = template.Library()


def _local(moment: datetime) -> datetime:
    """timezone.localtime() for an aware datetime, a naive one as it is."""
    if moment.utcoffset() is None:
        return moment
    return moment.astimezone(timezone.get_current_timezone())


def _date_time(moment: datetime) -> str:
    """As the date filter's "m/d/Y g:i A", e.g. 03/05/2025 9:07 AM (without strftime,
    which was half of a list row's cost)."""
    t = _local(moment)
    return (f"{t.month:02d}/{t.day:02d}/{t.year} {t.hour % 12 or 12}:{t.minute:02d} "
            f"{'AM' if t.hour < 12 else 'PM'}")


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


def _text(value: object) -> str:
    """Escaped as format_html() escapes a value that is not already safe HTML: Django's
    escape() is html.escape(str(value)) behind a lazy-string check that costs more than
    the escaping (eleven values a row, 50 rows a page)."""
    return _escape(str(value))


def _row_source(r: ReferralListRow) -> str:
    """referral_source()'s HTML for a list row."""
    if r.source_status == SourceStatus.UNRESOLVED:
        badge = f'<span class="badge warn">{_text(r.get_source_status_display())}</span>'
        if r.source_text:
            badge += f' <span class="muted small">“{_text(r.source_text)}”</span>'
        return badge
    if r.source_partner_id:
        return (f'<a href="{_text(id_url("partners:detail", r.source_partner_id))}">'
                f"{_text(r.source_partner)}</a>")
    return '<span class="muted">—</span>'


@register.simple_tag
def referral_row(r: ReferralListRow) -> SafeString:
    """One row of the referral list (its seven columns)."""
    received = _text(_date_time(r.received_at))
    return mark_safe(  # noqa: S308 - every value below is escaped by _text
        "<tr>\n"
        f'    <td><a href="{_text(id_url("referrals:detail", r.pk))}" '
        f'aria-label="Referral #{_text(r.pk)}, received {received}">{received}</a></td>\n'
        f'    <td><a href="{_text(id_url("referrals:patient_detail", r.patient_id))}">'
        f"{_text(r.patient)}</a></td>\n"
        f"    <td>{_row_source(r)}</td>\n"
        f"    <td>{_text(r.location)}</td>\n"
        f"    <td>{_text('—' if r.service_line is None else r.service_line)}</td>\n"
        f'    <td><span class="badge">{_text(r.get_status_display())}</span></td>\n'
        f"    <td>{_text('—' if r.assigned_to is None else r.assigned_to)}</td>\n"
        "  </tr>"
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
