"""{% fit_panel partner %}: the partner page's fit score, stage and last move;
{% pipeline_card card %}: a card of the network board."""

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from refnet.accounts.permissions import Cap, has_cap
from refnet.links import id_url

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


# --- The network board's cards ------------------------------------------------------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


@register.simple_tag(takes_context=True)
def pipeline_card(context: template.Context, card: selectors.BoardCard) -> SafeString:
    """One card of the network board, with its move form. Written in Python: the board
    shows up to 180 cards, and drawn by the template (an include with four {% url %}, a
    loop over the stages and forty lookups each) they took ~70 ms of a ~100 ms page. The
    HTML is what prospects/_card.html wrote."""
    p = card.partner
    filters = context.get("filters") or {}
    kind = p.get_kind_display()
    if p.category:
        kind = format_html("{} · {}", kind, p.get_category_display())
    score = card.score
    if card.last_referral_at:
        last = _local(card.last_referral_at)
        referrals = format_html(
            "{} referral{} in 12 mo, last {} {}, {}", card.referrals_12m,
            "" if card.referrals_12m == 1 else "s", MONTHS[last.month - 1], last.day, last.year)
    else:
        referrals = "no referrals yet"
    moved = ""
    if card.last_change:
        at = _local(card.last_change.at)
        moved = format_html(
            '<div class="small muted pcard-moved">Moved by {} on {} {}, {}</div>',
            card.last_change.by or "the system", MONTHS[at.month - 1], at.day,
            f"{at.hour:02d}:{at.minute:02d}")
    move_url = id_url("prospects:move", p.pk)
    options = mark_safe("".join(  # noqa: S308 - format_html escapes each option
        format_html('<option value="{}"{}>{}</option>', value,
                    mark_safe(" selected") if value == card.next_stage else "", label)
        for value, label in context.get("stages", ()) if value != p.stage))
    return format_html(
        '<li class="pcard" id="pcard-{pk}" draggable="true" data-partner="{pk}" '
        'data-stage="{stage}">\n'
        '  <a class="pcard-name" href="{detail}">{name}</a>\n'
        '  <div class="small muted">{kind}</div>\n'
        '  <div class="small">Owner: <span class="pcard-owner">{owner}</span></div>\n'
        '  <div class="small"><a href="{scorecard}" class="pcard-fit" '
        'aria-label="Fit score {score_label} for {name}">Fit {score_text}</a>\n'
        "    · {referrals}</div>\n"
        "  {moved}\n"
        '  <form class="pcard-move" method="post" action="{move}" hx-post="{move}" '
        'hx-target="#board" hx-swap="outerHTML">\n'
        '    <input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">\n'
        '    <input type="hidden" name="from_stage" value="{stage}">\n'
        '    <input type="hidden" name="owner" value="{owner_filter}">\n'
        '    <input type="hidden" name="kind" value="{kind_filter}">\n'
        '    <label class="visually-hidden" for="move-{pk}">Move {name} to</label>\n'
        '    <select id="move-{pk}" name="to_stage">{options}</select>\n'
        '    <button type="submit" aria-label="Move {name}">Move</button>\n'
        "  </form>\n"
        "</li>\n",
        pk=p.pk, stage=p.stage, detail=id_url("partners:detail", p.pk), name=p.name,
        kind=kind, owner=p.owner or "nobody yet",
        scorecard=id_url("prospects:scorecard", p.pk),
        score_label="not scored" if score is None else score,
        score_text="—" if score is None else score,
        referrals=referrals, moved=moved, move=move_url,
        csrf=context.get("csrf_token") or "", owner_filter=filters.get("owner", ""),
        kind_filter=filters.get("kind", ""), options=options,
    )
