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
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from refnet.links import id_url
from refnet.partners.models import Partner

register = template.Library()


@register.simple_tag
def partner_row(partner: Partner, referrals_12m: int) -> SafeString:
    do_not_contact = (mark_safe(' <span class="badge warn">Do not contact</span>')
                      if partner.do_not_contact else "")
    return format_html(
        '<tr id="partner-{}">\n'
        '      <td><a href="{}">{}</a>{}</td>\n'
        "      <td>{}</td>\n"
        "      <td>{}</td>\n"
        '      <td><span class="badge stage-{}">{}</span></td>\n'
        "      <td>{}</td>\n"
        "      <td>{}</td>\n"
        '      <td class="num referrals-12m">{}</td>\n'
        "    </tr>",
        partner.pk, id_url("partners:detail", partner.pk), partner.name, do_not_contact,
        partner.get_kind_display(),
        partner.get_category_display() or "—",
        partner.stage, partner.get_stage_display(),
        partner.owner or "—",
        partner.city or "—",
        referrals_12m,
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
