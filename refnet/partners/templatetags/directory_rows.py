"""{% partner_row partner referrals_12m %}: one row of the partner directory, and
{% history_row referral with_patients %}: one of a partner page's referral history, in Python.

A directory page or a name search shows 50 partners; drawn with a dozen template lookups,
filters and a {% url %} each, the rows cost more than the queries behind them (outreach
opens these pages all day). The HTML is what partners/list.html wrote for a row.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template import engines
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from refnet.links import id_url
from refnet.partners.models import Partner

register = template.Library()


_LABELS: dict[str, dict[Any, str]] = {}


def _label(field: str, value: Any) -> str:
    """As partner.get_<field>_display(), from a dictionary made once per field (Django
    builds one from the field's choices on every call: three a row, 150 a page)."""
    labels = _LABELS.get(field)
    if labels is None:
        labels = _LABELS[field] = {k: str(v) for k, v in
                                   Partner._meta.get_field(field).flatchoices}
    return labels.get(value, value)


@register.simple_tag
def partner_row(partner: Partner, referrals_12m: int) -> SafeString:
    do_not_contact = (' <span class="badge warn">Do not contact</span>'
                      if partner.do_not_contact else "")
    owner = partner.owner
    # Each value escaped as format_html did (conditional_escape of a plain string).
    return mark_safe(  # noqa: S308 - every value below is escaped
        f'<tr id="partner-{int(partner.pk)}">\n'
        f'      <td><a href="{id_url("partners:detail", partner.pk)}">{escape(partner.name)}'
        f"</a>{do_not_contact}</td>\n"
        f"      <td>{escape(_label('kind', partner.kind))}</td>\n"
        f"      <td>{escape(_label('category', partner.category) or '—')}</td>\n"
        f'      <td><span class="badge stage-{escape(partner.stage)}">'
        f"{escape(_label('stage', partner.stage))}</span></td>\n"
        f"      <td>{escape(owner if owner else '—')}</td>\n"
        f"      <td>{escape(partner.city or '—')}</td>\n"
        f'      <td class="num referrals-12m">{int(referrals_12m)}</td>\n'
        "    </tr>"
    )


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.simple_tag
def history_row(referral: Any, with_patients: bool) -> SafeString:
    """One row of a partner page's referral history (up to 50 rows), as the template
    wrote it: received (as "Mar 5, 2025"), the patient for those who may see them,
    status, service line, location."""
    received = timezone.localtime(referral.received_at)
    patient = ""
    if with_patients:
        patient = format_html(
            '\n          <td><a href="{}">{} {}</a></td>',
            id_url("referrals:patient_detail", referral.patient.pk),
            referral.patient.first_name, referral.patient.last_name)
    return format_html(
        "<tr>\n"
        "          <td>{} {}, {}</td>{}\n"
        "          <td>{}</td>\n"
        "          <td>{}</td>\n"
        "          <td>{}</td>\n"
        "        </tr>",
        MONTHS[received.month - 1], received.day, received.year, patient,
        referral.get_status_display(),
        (referral.service_line.name if referral.service_line else "") or "—",
        referral.location.name,
    )


_FIELDS = "{% for field in form %}{% include \"_field.html\" %}{% endfor %}"
_blank_form_fields: dict[type, SafeString] = {}
_fields_template: Any = None


@register.simple_tag
def form_fields(form: Any) -> SafeString:
    """{% for field in form %}{% include "_field.html" %}{% endfor %}, as the template
    wrote it. A blank (unbound) form draws the same HTML on every page: labels and empty
    inputs from the form class alone, nothing from the request or the database. It is
    drawn once per form class and process (the add-contact form on every partner page
    cost ~1 ms of template includes); a bound form, with its values and errors, always
    anew."""
    if not form.is_bound and not form.initial and type(form) in _blank_form_fields:
        return _blank_form_fields[type(form)]
    global _fields_template
    if _fields_template is None:
        _fields_template = engines["django"].from_string(_FIELDS)
    html = mark_safe(_fields_template.render({"form": form}))  # noqa: S308 - the template escapes
    if not form.is_bound and not form.initial:
        _blank_form_fields[type(form)] = html
    return html
