"""Composing: a message rendered from its template and queued in the outbox in one
transaction (message_send), and saving a template after the privacy guard has read it
(template_save)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from refnet.accounts.models import User
from refnet.followups.models import DoneHow, FollowUp, RuleKind
from refnet.partners.models import Contact, Partner
from refnet.referrals.models import Referral

from .models import MessageChannel, MessageTemplate, OutboxMessage, Purpose
from .rendering import default_channel, render_message, template_check
from .services import message_enqueue

# What a follow-up sends; asking again for a source is a conversation with the patient.
PURPOSE_FOR_KIND: dict[str, str] = {
    RuleKind.THANK_REFERRER: Purpose.THANK_YOU,
    RuleKind.OUTCOME_UPDATE: Purpose.OUTCOME_UPDATE,
    RuleKind.PROGRESS_REPORT: Purpose.PROGRESS_REPORT,
    RuleKind.CHECK_IN: Purpose.CHECK_IN,
    RuleKind.REENGAGE: Purpose.REENGAGE,
}


def message_send(
    *, purpose: str, channel: str | None = None, partner: Partner,
    contact: Contact | None = None, referral: Referral | None = None, by: User | None,
    dedupe_key: str | None = None, followup: FollowUp | None = None,
) -> OutboxMessage:
    """Render the message for the recipient's audience and queue it; with a follow-up,
    mark it done (sent, with this message). All in one transaction: a follow-up is never
    done without its message, nor a message queued for a follow-up left open.

    Raises ValidationError (NoTemplate, NoAddress, TemplateAudienceError, or the outbox's
    refusal of a do-not-contact partner or an opted-out address)."""
    if purpose not in Purpose.values:
        raise ValidationError({"purpose": f"{purpose!r} is not a message purpose."})
    channel = channel or default_channel(partner=partner, contact=contact)
    if channel not in MessageChannel.values:
        raise ValidationError({"channel": f"refnet cannot send by {channel!r}: choose email, "
                                          "letter, SMS or fax."})
    if contact is not None and contact.partner_id != partner.pk:
        raise ValidationError({"contact": f"{contact.name} is not a contact of {partner.name}."})
    if referral is not None and referral.source_partner_id != partner.pk:
        # Telling one partner about a patient another partner referred would disclose
        # health information to someone with no part in the patient's care.
        raise ValidationError({"referral": f"This referral did not come from {partner.name}; "
                                           "a message about it can only go to its source."})
    with transaction.atomic():
        rendered = render_message(purpose=purpose, channel=channel, partner=partner,
                                  contact=contact, referral=referral, sender=by)
        message = message_enqueue(
            channel=channel, purpose=purpose, audience=rendered.audience, partner=partner,
            contact=contact, referral=referral, template=rendered.template,
            to_name=rendered.to_name, to_address=rendered.to_address,
            subject=rendered.subject, body_text=rendered.body_text,
            body_html=rendered.body_html, names_patient=rendered.names_patient, by=by,
            dedupe_key=dedupe_key,
        )
        if followup is not None:
            from refnet.followups.services import followup_complete

            followup_complete(followup=followup, how=DoneHow.SENT, by=by, message=message)
    return message


def template_save(*, template: MessageTemplate, by: User | None,
                  **fields: Any) -> MessageTemplate:
    """Save a template (new or edited) after template_check: a template that uses what its
    audience may not see is never stored through the app."""
    for name, value in fields.items():
        if name not in ("purpose", "channel", "audience", "subject", "body", "is_active"):
            raise ValidationError({name: f"{name} cannot be set on a template."})
        setattr(template, name, value)
    template_check(subject=template.subject, body=template.body, audience=template.audience,
                   channel=template.channel)
    clash = MessageTemplate.objects.filter(
        purpose=template.purpose, channel=template.channel, audience=template.audience,
    ).exclude(pk=template.pk)
    with transaction.atomic():
        if clash.exists():
            raise ValidationError({"purpose": "There is already a template for this purpose, "
                                              "channel and audience: edit that one."})
        template.updated_by = by
        template._history_user = by  # type: ignore[attr-defined]  # simple_history: who
        template.full_clean(exclude=["updated_by"], validate_unique=False,
                            validate_constraints=False)
        template.save()
    return template
