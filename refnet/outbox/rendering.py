"""Rendering messages from templates, with the privacy guard (COMPLIANCE.md).

The guard lives here, at render time, not in template discipline:

1. The audience is chosen from the recipient (audience_for), never by the template.
2. A template may only use the variables its audience may see (AUDIENCE_VARIABLES), in a
   small subset of Django's template language (ALLOWED_TAGS, ALLOWED_FILTERS).
   template_check walks the compiled template and refuses anything else, naming the
   variable, the audience and why. It runs when a template is saved AND when it is
   rendered, so a template changed in the database behind the app's back still fails.
3. The context holds only the audience's variables (defence in depth): even a check that
   missed something would find nothing to show.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template import defaultfilters as df
from django.template.base import FilterExpression, Lexer, Node, TokenType, VariableNode
from django.template.defaulttags import CommentNode, ForNode, IfNode, WithNode
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe

from refnet.partners.models import Contact, Partner, PartnerKind
from refnet.referrals.models import Referral, ReferralEvent, ReferralStatus

from .addresses import unsubscribe_url
from .models import Audience, MessageChannel, MessageTemplate, Purpose

# --- What each audience may be told ------------------------------------------------------

COMMON_VARIABLES = frozenset({
    "partner.name", "partner.greeting", "contact.name",
    "practice.name", "practice.phone", "practice.address",
    "location.name", "location.phone", "sender.name", "today",
})
# The unsubscribe link is for non-clinical email (CAN-SPAM); a referring clinician's
# care-coordination mail is not a "commercial message" and has no list to leave.
UNSUBSCRIBE_VARIABLE = "unsubscribe_url"
PATIENT_NAME_VARIABLES = frozenset({"patient.first_name", "patient.last_name", "patient.name"})
CLINICAL_VARIABLES = frozenset({
    "patient.birth_date", "referral.received_at", "referral.status", "referral.outcome",
    "referral.reason", "referral.diagnosis", "referral.service_line", "referral.seen_at",
    "referral.visit_count", "referral.last_visit_at",
})

AUDIENCE_VARIABLES: dict[str, frozenset[str]] = {
    Audience.GENERAL: COMMON_VARIABLES | {UNSUBSCRIBE_VARIABLE},
    Audience.NAMED: COMMON_VARIABLES | {UNSUBSCRIBE_VARIABLE} | PATIENT_NAME_VARIABLES,
    Audience.CLINICAL: COMMON_VARIABLES | PATIENT_NAME_VARIABLES | CLINICAL_VARIABLES,
}
ALL_VARIABLES = frozenset().union(*AUDIENCE_VARIABLES.values())

# Why a variable is refused, in words a manager can act on.
_WHY_NOT = {
    Audience.GENERAL: "a non-clinical referrer may only be told about a patient who "
                      "authorized it (COMPLIANCE.md).",
    Audience.NAMED: "only a referring clinician may be told clinical details; a "
                    "non-clinical referrer with the patient's authorization may be told "
                    "the patient's name, nothing more (COMPLIANCE.md).",
    Audience.CLINICAL: "care-coordination mail to a referring clinician has no "
                       "unsubscribe link (it is not a marketing message).",
}

ALLOWED_TAGS = frozenset({
    "if", "elif", "else", "endif", "for", "empty", "endfor", "with", "endwith",
    "comment", "endcomment",
})
# Filters that format a value. Anything that marks text safe (safe, safeseq) or pulls in
# more (urlize, linebreaks: HTML in a text message) is left out.
ALLOWED_FILTERS = frozenset({
    df.default, df.default_if_none, df.date, df.time, df.upper, df.lower, df.title,
    df.capfirst, df.length, df.pluralize, df.yesno, df.first, df.last, df.join,
    df.truncatewords, df.truncatechars, df.floatformat, df.add, df.timesince_filter,
    df.timeuntil_filter, df.cut, df.wordwrap,
})

# Variables that only mean something when the message is about one referral.
REFERRAL_PREFIXES = ("patient.", "referral.")


class TemplateAudienceError(ValidationError):
    """A template uses what its audience may not see, or leaves the safe subset."""


class NoTemplate(ValidationError):
    """No active template for this purpose, channel and audience."""


class NoAddress(ValidationError):
    """The recipient has no address for this channel."""


# One engine per escaping mode; no loaders, so {% include %} could not read a file even if
# the check let it through.
_TEXT_ENGINE = Engine(loaders=[], autoescape=False, debug=True)
_HTML_ENGINE = Engine(loaders=[], autoescape=True, debug=False)


# --- The check -------------------------------------------------------------------------


def _tag_errors(source: str) -> list[str]:
    """Tags outside the subset, found in the lexed tokens before anything is compiled."""
    errors = []
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        bits = token.split_contents()
        name = bits[0] if bits else ""
        if name not in ALLOWED_TAGS:
            errors.append(
                f"{{% {name} %}} is not allowed in a message template (line {token.lineno}): "
                "only if, elif, else, for, empty, with and comment may be used."
            )
    return errors


def _compile(source: str) -> Template:
    return Template(source, engine=_TEXT_ENGINE)


def _syntax_error(exc: TemplateSyntaxError) -> str:
    line = getattr(exc, "template_debug", {}).get("line")
    where = f" on line {line}" if line else ""
    return f"The template has a syntax error{where}: {exc}"


def _filter_variables(expr: FilterExpression) -> Iterator[tuple[str, ...] | str]:
    """The lookups an expression reads (its variable and any variable filter arguments);
    a refused filter is yielded as its name, a string."""
    var = expr.var
    if getattr(var, "lookups", None):
        yield tuple(var.lookups)
    for func, args in expr.filters:
        if func not in ALLOWED_FILTERS:
            yield getattr(func, "_filter_name", func.__name__)
        for is_variable, arg in args:
            if is_variable and getattr(arg, "lookups", None):
                yield tuple(arg.lookups)


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    """The FilterExpressions inside an {% if %} condition (a tree of smartif operators)."""
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield value
        return
    for side in (getattr(condition, "first", None), getattr(condition, "second", None)):
        yield from _condition_expressions(side)


def _walk(nodes: Iterable[Node], local: frozenset[str]) -> Iterator[tuple[str, ...] | str]:
    """Every variable lookup the nodes read, outside names bound by {% for %} and {% with %}
    (those are checked where they are bound)."""

    def outside(exprs: Iterable[FilterExpression]) -> Iterator[tuple[str, ...] | str]:
        for expr in exprs:
            for used in _filter_variables(expr):
                if isinstance(used, str) or used[0] not in local:
                    yield used

    for node in nodes:
        if isinstance(node, VariableNode):
            yield from outside([node.filter_expression])
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                yield from outside(_condition_expressions(condition))
                yield from _walk(nodelist, local)
        elif isinstance(node, ForNode):
            yield from outside([node.sequence])
            inner = local | set(node.loopvars) | {"forloop"}
            yield from _walk(node.nodelist_loop, inner)
            yield from _walk(node.nodelist_empty, local)
        elif isinstance(node, WithNode):
            yield from outside(node.extra_context.values())
            yield from _walk(node.nodelist, local | set(node.extra_context))
        elif isinstance(node, CommentNode):
            continue
        else:
            # TextNode has no children; any other node was refused by _tag_errors.
            yield from _walk(getattr(node, "nodelist", []) or [], local)


def template_variables(source: str) -> set[str]:
    """The dotted variable names a template reads (raises TemplateSyntaxError)."""
    return {".".join(u) for u in _walk(_compile(source).nodelist, frozenset())
            if not isinstance(u, str)}


def _variable_error(name: str, audience: str, channel: str | None) -> str | None:
    allowed = AUDIENCE_VARIABLES[audience]
    label = Audience(audience).name.lower()
    if name in allowed:
        if name == UNSUBSCRIBE_VARIABLE and channel and channel != MessageChannel.EMAIL:
            return (f"{{{{ {name} }}}} may only be used in an email: there is no "
                    "unsubscribe link for this channel (opt-out is by reply or by phone).")
        return None
    if name not in ALL_VARIABLES:
        known = ", ".join(sorted(allowed))
        return (f"{{{{ {name} }}}} is not a variable refnet knows. For the {label} audience "
                f"you may use: {known}.")
    return f"{{{{ {name} }}}} may not be used in a message for the {label} audience: " + (
        _WHY_NOT[audience]
    )


def _field_errors(source: str, audience: str, channel: str | None) -> list[str]:
    errors = _tag_errors(source)
    if errors:
        return errors
    try:
        template = _compile(source)
    except TemplateSyntaxError as exc:
        return [_syntax_error(exc)]
    for used in dict.fromkeys(_walk(template.nodelist, frozenset())):
        if isinstance(used, str):
            errors.append(f"The filter |{used} is not allowed in a message template.")
            continue
        message = _variable_error(".".join(used), audience, channel)
        if message:
            errors.append(message)
    return errors


def template_check(*, subject: str, body: str, audience: str,
                   channel: str | None = None) -> None:
    """Raise TemplateAudienceError ({"subject": [...], "body": [...]}) if the template uses
    a variable the audience may not see, an unknown variable, a tag or filter outside the
    safe subset, or is not a valid template. `channel`, when known, also refuses the
    unsubscribe link outside email."""
    if audience not in AUDIENCE_VARIABLES:
        raise TemplateAudienceError({"audience": f"Unknown audience {audience!r}."})
    errors = {}
    for field, source in (("subject", subject or ""), ("body", body or "")):
        found = _field_errors(source, audience, channel)
        if found:
            errors[field] = found
    if errors:
        raise TemplateAudienceError(errors)


# --- Who reads it ----------------------------------------------------------------------


def audience_for(*, partner: Partner, referral: Referral | None = None) -> Audience:
    """Clinical for a referring clinician or practice; named for anyone else when the
    referred patient's "may we thank your referrer" authorization is on file; general
    otherwise."""
    if partner.is_clinical:
        return Audience.CLINICAL
    if referral is not None and referral.patient.may_thank_referrer:
        return Audience.NAMED
    return Audience.GENERAL


def audience_reason(*, partner: Partner, referral: Referral | None = None) -> str:
    """Why audience_for chose what it chose, in plain words (the compose page shows it)."""
    audience = audience_for(partner=partner, referral=referral)
    if audience == Audience.CLINICAL:
        return ("Clinical: a referring clinician may be told the patient's name and "
                "the outcome (care coordination).")
    if audience == Audience.NAMED:
        return ("Named: the patient authorized us to thank this referrer, so the message "
                "may name the patient, but nothing clinical.")
    if referral is None:
        return "General: this message is not about one patient."
    return ("General: the patient has not authorized us to tell this referrer, so the "
            "message neither names nor confirms the patient.")


# --- Addresses -------------------------------------------------------------------------


def _postal_lines(partner: Partner, contact: Contact | None) -> str:
    if not (partner.address_line and partner.city):
        return ""
    city = ", ".join(x for x in [partner.city, " ".join(
        x for x in [partner.state, partner.zip_code] if x)] if x)
    lines = [partner.name] if contact else []
    return "\n".join([*lines, partner.address_line, city])


def recipient(*, channel: str, partner: Partner,
              contact: Contact | None = None) -> tuple[str, str]:
    """(to_name, to_address) for a channel: the contact's email or phone first, then the
    partner's; letters go to the partner's postal address. Raises NoAddress."""
    to_name = contact.name if contact else partner.name
    if channel == MessageChannel.EMAIL:
        address = (contact.email if contact else "") or partner.email
        what = "email address"
    elif channel == MessageChannel.SMS:
        address = (contact.phone if contact else "") or partner.phone
        what = "phone number for text messages"
    elif channel == MessageChannel.FAX:
        address = partner.fax
        what = "fax number"
    elif channel == MessageChannel.LETTER:
        address = _postal_lines(partner, contact)
        what = "postal address (street and city)"
    else:
        raise NoAddress(f"refnet cannot send by {channel!r}: choose email, letter, SMS or fax.")
    if not address.strip():
        raise NoAddress(f"{to_name} has no {what}: add it on the partner page or choose "
                        "another channel.")
    return to_name, address.strip()


def reachable_channels(*, partner: Partner, contact: Contact | None = None) -> list[str]:
    """The channels this recipient has an address for, in MessageChannel order."""
    found = []
    for channel in MessageChannel.values:
        try:
            recipient(channel=channel, partner=partner, contact=contact)
        except NoAddress:
            continue
        found.append(channel)
    return found


def default_channel(*, partner: Partner, contact: Contact | None = None) -> str:
    """The partner's preferred channel when refnet can send by it and has the address;
    else the first reachable one (email, letter, SMS, fax); else email (which will then
    say which address is missing)."""
    reachable = reachable_channels(partner=partner, contact=contact)
    if partner.preferred_channel in reachable:
        return partner.preferred_channel
    if partner.preferred_channel in MessageChannel.values and not reachable:
        return partner.preferred_channel
    return reachable[0] if reachable else MessageChannel.EMAIL


# --- The context -----------------------------------------------------------------------


def greeting(partner: Partner, contact: Contact | None = None) -> str:
    """"Dr. Smith" for a clinician, the contact's name when writing to a person, else the
    partner's name."""
    if contact:
        return contact.name
    if partner.kind == PartnerKind.CLINICIAN:
        name = partner.name.split(",")[0].strip()
        if name.lower().startswith("dr"):
            return name
        words = name.split()
        if words:
            return f"Dr. {words[-1]}"
    return partner.name


def _location_for(referral: Referral | None) -> Any:
    from refnet.practice.models import Location

    if referral is not None:
        return referral.location
    return Location.objects.filter(is_active=True).order_by("name").first()


def _referral_values(referral: Referral, wanted: frozenset[str]) -> dict[str, Any]:
    patient = referral.patient
    values: dict[str, Any] = {
        "patient.first_name": patient.first_name,
        "patient.last_name": patient.last_name,
        "patient.name": f"{patient.first_name} {patient.last_name}",
    }
    if not wanted & CLINICAL_VARIABLES:
        return values
    visits = list(referral.visits.order_by("at").values_list("at", flat=True))
    seen = (ReferralEvent.objects.filter(referral=referral, to_status=ReferralStatus.SEEN)
            .order_by("-at").values_list("at", flat=True).first())
    values.update({
        "patient.birth_date": patient.birth_date or "",
        "referral.received_at": timezone.localtime(referral.received_at),
        "referral.status": referral.get_status_display(),
        "referral.outcome": referral.get_outcome_display() if referral.outcome else "",
        "referral.reason": referral.reason,
        "referral.diagnosis": referral.diagnosis,
        "referral.service_line": referral.service_line.name if referral.service_line else "",
        "referral.seen_at": timezone.localtime(seen) if seen else "",
        "referral.visit_count": len(visits),
        "referral.last_visit_at": timezone.localtime(visits[-1]) if visits else "",
    })
    return values


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    """{"partner.name": x} -> {"partner": {"name": x}}: templates look names up in dicts,
    so no model method or attribute is reachable from a template."""
    nested: dict[str, Any] = {}
    for dotted, value in values.items():
        head, _, rest = dotted.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[head] = value
    return nested


def message_context(*, audience: str, channel: str, partner: Partner,
                    contact: Contact | None = None, referral: Referral | None = None,
                    sender: Any = None, to_address: str = "") -> dict[str, Any]:
    """The values a template may read, ONLY those of the audience (defence in depth)."""
    allowed = AUDIENCE_VARIABLES[audience]
    location = _location_for(referral)
    sender_name = ""
    if sender is not None:
        sender_name = sender.get_full_name() or sender.username
    values: dict[str, Any] = {
        "partner.name": partner.name,
        "partner.greeting": greeting(partner, contact),
        "contact.name": contact.name if contact else greeting(partner),
        "practice.name": settings.REFNET_PRACTICE_NAME,
        "practice.phone": settings.REFNET_PRACTICE_PHONE,
        "practice.address": settings.REFNET_PRACTICE_ADDRESS,
        "location.name": location.name if location else settings.REFNET_PRACTICE_NAME,
        "location.phone": (location.phone if location and location.phone
                           else settings.REFNET_PRACTICE_PHONE),
        "sender.name": sender_name or (f"The team at {location.name}" if location
                                       else f"The team at {settings.REFNET_PRACTICE_NAME}"),
        "today": timezone.localdate(),
        UNSUBSCRIBE_VARIABLE: "",
    }
    if channel == MessageChannel.EMAIL and UNSUBSCRIBE_VARIABLE in allowed and to_address:
        values[UNSUBSCRIBE_VARIABLE] = unsubscribe_url(MessageChannel.EMAIL, to_address)
    if referral is not None and allowed & (PATIENT_NAME_VARIABLES | CLINICAL_VARIABLES):
        values.update(_referral_values(referral, allowed))
    return _nest({k: v for k, v in values.items() if k in allowed})


# --- Rendering -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str
    audience: str
    names_patient: bool
    template: MessageTemplate | None
    to_name: str
    to_address: str


def _html_source(source: str) -> str:
    """The template with its literal text HTML-escaped, so the HTML part shows exactly the
    text part: template text and values alike are text, never markup."""
    parts = []
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT:
            parts.append(html.escape(token.contents, quote=False))
        elif token.token_type == TokenType.VAR:
            parts.append("{{ " + token.contents + " }}")
        elif token.token_type == TokenType.BLOCK:
            parts.append("{% " + token.contents + " %}")
    return "".join(parts)


def _footer_lines(unsubscribe: str) -> list[str]:
    lines = [settings.REFNET_PRACTICE_NAME, settings.REFNET_PRACTICE_ADDRESS]
    if unsubscribe:
        lines.append(f"To stop receiving these emails: {unsubscribe}")
    return lines


SMS_OPT_OUT = "Reply STOP to opt out."


def render_text(*, subject: str, body: str, audience: str, channel: str,
                context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, body_text, body_html) from template sources that passed template_check.
    Email gets the practice footer (and the unsubscribe link when the context has one);
    SMS gets the opt-out line."""
    ctx = Context(context, autoescape=False)
    rendered_subject = " ".join(_compile(subject).render(ctx).split()) if subject else ""
    text = _compile(body).render(ctx).strip()
    body_html = ""
    if channel == MessageChannel.EMAIL:
        unsubscribe = context.get(UNSUBSCRIBE_VARIABLE, "")
        inner = Template(_html_source(body), engine=_HTML_ENGINE).render(
            Context(context, autoescape=True)).strip()
        body_html = render_to_string("outbox/email_base.html", {
            "subject": rendered_subject,
            "body": mark_safe(linebreaks(inner)),  # noqa: S308 - inner is escaped
            "practice_name": settings.REFNET_PRACTICE_NAME,
            "practice_address": settings.REFNET_PRACTICE_ADDRESS,
            "practice_phone": settings.REFNET_PRACTICE_PHONE,
            "unsubscribe_url": unsubscribe,
        })
        text = text + "\n\n-- \n" + "\n".join(_footer_lines(unsubscribe))
    elif channel == MessageChannel.SMS and SMS_OPT_OUT.lower() not in text.lower():
        text = f"{text} {SMS_OPT_OUT}"
    return rendered_subject, text, body_html


def active_template(*, purpose: str, channel: str, audience: str) -> MessageTemplate:
    template = MessageTemplate.objects.filter(
        purpose=purpose, channel=channel, audience=audience, is_active=True
    ).first()
    if template is None:
        raise NoTemplate(
            f"There is no active {MessageChannel(channel).label.lower()} template for "
            f"“{Purpose(purpose).label}” to the {Audience(audience).name.lower()} audience: "
            "a manager can add one under Messages, Templates, or choose another channel."
        )
    return template


def render_message(*, purpose: str, channel: str, partner: Partner,
                   contact: Contact | None = None, referral: Referral | None = None,
                   sender: Any = None) -> Rendered:
    """Render the active template for (purpose, channel, the recipient's audience).

    Raises NoTemplate, NoAddress or TemplateAudienceError (all ValidationErrors)."""
    if channel not in MessageChannel.values:
        raise NoAddress(f"refnet cannot send by {channel!r}: choose email, letter, SMS or fax.")
    audience = audience_for(partner=partner, referral=referral)
    template = active_template(purpose=purpose, channel=channel, audience=audience)
    # Again at render time: the row may have been changed without the form.
    template_check(subject=template.subject, body=template.body, audience=audience,
                   channel=channel)
    if referral is None:
        used = template_variables(template.subject) | template_variables(template.body)
        about_referral = sorted(v for v in used if v.startswith(REFERRAL_PREFIXES))
        if about_referral:
            raise TemplateAudienceError(
                f"This template uses {{{{ {about_referral[0]} }}}}, which needs the referral "
                "the message is about: start it from the referral or its follow-up."
            )
    to_name, to_address = recipient(channel=channel, partner=partner, contact=contact)
    context = message_context(audience=audience, channel=channel, partner=partner,
                              contact=contact, referral=referral, sender=sender,
                              to_address=to_address)
    subject, body_text, body_html = render_text(
        subject=template.subject, body=template.body, audience=audience, channel=channel,
        context=context,
    )
    return Rendered(
        subject=subject, body_text=body_text, body_html=body_html, audience=audience,
        names_patient=referral is not None and audience != Audience.GENERAL,
        template=template, to_name=to_name, to_address=to_address,
    )


# --- The sample for previews -----------------------------------------------------------

SAMPLE_VALUES: dict[str, Any] = {
    "partner.name": "Lakeside Family Medicine",
    "partner.greeting": "Dr. Rivera",
    "contact.name": "Sam Example",
    "location.name": "Main Street Clinic",
    "location.phone": "(555) 010-0199",
    "sender.name": "Morgan Sample",
    "patient.first_name": "Alex",
    "patient.last_name": "Sample",
    "patient.name": "Alex Sample",
    "patient.birth_date": date(1980, 4, 12),
    "referral.status": "Seen",
    "referral.outcome": "Became a patient",
    "referral.reason": "Low back pain after lifting (sample)",
    "referral.diagnosis": "M54.50 (sample)",
    "referral.service_line": "Physical therapy",
    "referral.visit_count": 4,
}


def sample_context(*, audience: str, channel: str) -> dict[str, Any]:
    """A synthetic context for the template editor's live preview: no real partner or
    patient, and still only the audience's variables."""
    now = timezone.localtime()
    values = {
        **SAMPLE_VALUES,
        "practice.name": settings.REFNET_PRACTICE_NAME,
        "practice.phone": settings.REFNET_PRACTICE_PHONE,
        "practice.address": settings.REFNET_PRACTICE_ADDRESS,
        "today": now.date(),
        "referral.received_at": now - timedelta(days=20),
        "referral.seen_at": now - timedelta(days=14),
        "referral.last_visit_at": now - timedelta(days=2),
        UNSUBSCRIBE_VARIABLE: (settings.REFNET_BASE_URL.rstrip("/") + "/u/unsubscribe/sample/"
                               if channel == MessageChannel.EMAIL else ""),
    }
    allowed = AUDIENCE_VARIABLES[audience]
    return _nest({k: v for k, v in values.items() if k in allowed})
