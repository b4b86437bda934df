"""The option lists the intake page's two search boxes fetch on every pause in typing,
written out here rather than by the template engine (a dozen variables and filters per
option were most of the search's CPU; the HTML is what the templates it replaced drew).
static/refnet/intake.js reads each option's data-action, data-id, data-contact and
data-label; every value from the database or the query is escaped."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.html import escape

from refnet.partners.models import Partner
from refnet.partners.search import Match

from ..models import Patient


def _us_date(day) -> str:
    """{{ day|date:"m/d/Y" }}"""
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


def patient_options_html(patients: Iterable[Patient], query: str) -> str:
    out = []
    for p in patients:
        first, last = escape(p.first_name), escape(p.last_name)
        born = _us_date(p.birth_date) if p.birth_date else ""
        meta = (f"born {born}" if born else "") + (
            f" · {escape(p.phone)}" if p.phone else "") + (
            f" · MRN {escape(p.mrn)}" if p.mrn else "")
        out.append(
            f'<li role="option" id="patient-opt-{p.pk}" data-action="pick" data-id="{p.pk}" '
            f'data-label="{first} {last}{f" · born {born}" if born else ""}">\n'
            f"  <span>{last}, {first}</span>\n"
            f'  <span class="meta">{meta}</span>\n'
            f"</li>")
    out.append("\n")
    if query:
        q = escape(query)
        out.append(f'<li role="option" id="patient-opt-new" data-action="new" data-label="{q}">'
                   f"<span>+ New patient “{q}”</span><span class=\"meta\">not in the list"
                   f"</span></li>")
    out.append("\n")
    return "".join(out)


def source_options_html(rows: Iterable[tuple[Match, Partner]], query: str) -> str:
    out = []
    for m, partner in rows:
        name = escape(partner.name)
        label = escape(m.label)
        if m.contact_id:
            data_label = f"{label} at {name}"
            shown = f'{label} <span class="meta">at {name}</span>'
        else:
            data_label = name
            shown = name + (f' <span class="meta">(also known as {label})</span>'
                            if m.source == "alias" else "")
        city = f" · {escape(partner.city)}" if partner.city else ""
        out.append(
            f'<li role="option" id="source-opt-{partner.pk}-{m.contact_id or 0}" '
            f'data-action="pick" data-id="{partner.pk}" data-contact="{m.contact_id or ""}" '
            f'data-label="{data_label}">\n'
            f"  <span>{shown}</span>\n"
            f'  <span class="meta"><span class="badge">{escape(partner.get_kind_display())}'
            f"</span>{city} · {m.recent_referrals} in 12 mo</span>\n"
            f"</li>")
    out.append("\n")
    q = escape(query)
    if query:
        out.append(f'<li role="option" id="source-opt-new" data-action="new" data-label="{q}">'
                   f"<span>+ Add “{q}” as a new source</span><span class=\"meta\">kind, name, "
                   f"phone</span></li>")
    out.append(f'\n<li role="option" id="source-opt-unknown" data-action="unknown" '
               f'data-label="{q}"><span>? Don\'t know: save and ask again later</span>'
               f'<span class="meta">goes on the ask-again list</span></li>\n')
    return "".join(out)
