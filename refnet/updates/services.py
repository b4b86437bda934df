"""Writing, publishing and delivering updates to partners.

Publishing an update (update_publish) creates one UpdateDelivery per matching live
partner and decides, per partner (the batches due at once are sent in the same
transaction for up to PUBLISH_INLINE_MAX partners, else by the worker's next tick):

1. do-not-contact -> skipped ("asked for no contact"); nothing is queued, ever.
2. No address on any usable channel, or the address opted out -> skipped, with why.
3. Otherwise the delivery waits until the partner's next allowed send: their last
   contact (the newest outbound message to them that is queued, sending or sent, of
   any purpose, or the last update batch) plus cadence_days. When that is now or
   earlier, the batch goes out at once.

A batch (send_batch) is ALL of one partner's pending updates as ONE message, newest
first, by their channel. updates_tick(now) sends the batches that are due; it is safe to
run twice or from two workers at once: deliveries are claimed with SELECT ... FOR UPDATE
SKIP LOCKED (PostgreSQL; SQLite serializes writers) and a compare-and-set, and the outbox
message's dedupe key is the batch key, so a batch can only ever become one message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from refnet.accounts.models import User
from refnet.outbox.models import Audience, MessageChannel, OutboxMessage, OutboxStatus, Purpose
from refnet.outbox.rendering import (
    NoAddress,
    TemplateAudienceError,
    audience_for,
    message_context,
    recipient,
    render_text,
    template_check,
)
from refnet.outbox.services import contact_blocked, message_enqueue
from refnet.partners.models import (
    BusinessCategory,
    Contact,
    Partner,
    PartnerKind,
    Stage,
    Tag,
)

from .models import (
    DeliveryStatus,
    SkipReason,
    Update,
    UpdateDelivery,
    UpdateKind,
    UpdateStatus,
)

log = logging.getLogger("refnet.updates")

# Outbound messages that count as contact for the cadence.
CONTACT_STATUSES = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.SENT)
# Channels refnet can send by; a phone or portal preference falls back to email, then a
# letter (refnet does not place calls or post to portals).
SENDABLE = (MessageChannel.EMAIL, MessageChannel.LETTER, MessageChannel.SMS,
            MessageChannel.FAX)
FALLBACK = (MessageChannel.EMAIL, MessageChannel.LETTER)
AUDIENCE_KEYS = ("kinds", "categories", "stages", "owner", "tags")
# Publishing sends the batches due now inside the request only for a small audience (one
# batch is a few milliseconds: rendering, the outbox row); above this many partners due now
# the worker's next tick sends them (5,000 partners took ~23 CPU seconds), and each tick
# sends at most BATCHES_PER_TICK so the outbox and other tick work never wait long.
PUBLISH_INLINE_MAX = 50
BATCHES_PER_TICK = 500


# ---- the text ---------------------------------------------------------------------------

def update_text_check(*, title: str, body: str) -> None:
    """The title and body may use only what every recipient may see: the general
    audience's placeholders without the unsubscribe link (refnet adds that itself), so
    no patient and nothing clinical, for clinicians and gym owners alike."""
    errors: dict[str, list[str]] = {}
    if not (title or "").strip():
        errors["title"] = ["Give the update a title."]
    if not (body or "").strip():
        errors["body"] = ["Write what the update says."]
    if errors:
        raise ValidationError(errors)
    for audience in (Audience.GENERAL, Audience.CLINICAL):
        try:
            template_check(subject=title, body=body, audience=audience)
        except TemplateAudienceError as exc:
            raise ValidationError({("title" if k == "subject" else k): v
                                   for k, v in exc.message_dict.items()}) from exc


# ---- the audience -----------------------------------------------------------------------

def audience_clean(data: dict | None) -> dict:
    """A stored audience filter from form values; raises ValidationError naming the field."""
    data = dict(data or {})
    unknown = set(data) - set(AUDIENCE_KEYS)
    if unknown:
        raise ValidationError({"audience": f"Unknown audience filter {sorted(unknown)[0]!r}."})
    clean: dict = {}
    for key, choices in (("kinds", PartnerKind), ("categories", BusinessCategory),
                         ("stages", Stage)):
        values = [str(v) for v in data.get(key) or []]
        bad = [v for v in values if v not in choices.values]
        if bad:
            raise ValidationError({key: f"{bad[0]!r} is not a valid choice for {key}."})
        clean[key] = sorted(set(values))
    owner = data.get("owner")
    if owner in ("", None):
        clean["owner"] = None
    else:
        try:
            owner_id = int(owner.pk if isinstance(owner, User) else owner)
        except (TypeError, ValueError):
            raise ValidationError({"owner": f"{owner!r} is not a user."}) from None
        if not User.objects.filter(pk=owner_id).exists():
            raise ValidationError({"owner": "That user does not exist."})
        clean["owner"] = owner_id
    tags = []
    for tag in data.get("tags") or []:
        try:
            tags.append(int(tag.pk if isinstance(tag, Tag) else tag))
        except (TypeError, ValueError):
            raise ValidationError({"tags": f"{tag!r} is not a tag."}) from None
    if len(set(tags)) != Tag.objects.filter(pk__in=tags).count():
        raise ValidationError({"tags": "One of the tags does not exist."})
    clean["tags"] = sorted(set(tags))
    return clean


def audience_partners(audience: dict) -> QuerySet[Partner]:
    """Live partners matching the filter; an empty list means any."""
    partners = Partner.objects.live()
    if audience.get("kinds"):
        partners = partners.filter(kind__in=audience["kinds"])
    if audience.get("categories"):
        partners = partners.filter(category__in=audience["categories"])
    if audience.get("stages"):
        partners = partners.filter(stage__in=audience["stages"])
    if audience.get("owner"):
        partners = partners.filter(owner_id=audience["owner"])
    if audience.get("tags"):
        partners = partners.filter(
            pk__in=Partner.tags.through.objects.filter(tag_id__in=audience["tags"])
            .values("partner_id"))
    return partners.order_by("name", "id")


def audience_describe(audience: dict) -> str:
    """"Clinicians, Medical practices; stage Active; owner otto" for the pages."""
    parts = []
    if audience.get("kinds"):
        parts.append(", ".join(PartnerKind(k).label for k in audience["kinds"]))
    if audience.get("categories"):
        parts.append(", ".join(BusinessCategory(c).label for c in audience["categories"]))
    if audience.get("stages"):
        parts.append("stage " + ", ".join(Stage(s).label for s in audience["stages"]))
    if audience.get("owner"):
        owner = User.objects.filter(pk=audience["owner"]).first()
        parts.append(f"owner {owner.get_full_name() or owner.username}" if owner
                     else "owner (removed user)")
    if audience.get("tags"):
        names = Tag.objects.filter(pk__in=audience["tags"]).values_list("name", flat=True)
        parts.append("tagged " + ", ".join(names))
    return "; ".join(parts) or "Every partner"


# ---- cadence and channel ----------------------------------------------------------------

def last_contacts(partners: QuerySet[Partner] | list[Partner]) -> dict[int, datetime]:
    """partner id -> the last time we wrote to them (any outbound message queued, sending
    or sent, or an update batch), for the partners that have one."""
    ids = [p.pk for p in partners] if isinstance(partners, list) else partners.values("pk")
    found: dict[int, datetime] = {}
    rows = list(OutboxMessage.objects.filter(partner_id__in=ids, status__in=CONTACT_STATUSES)
                .values("partner_id").annotate(at=Max("created_at")).values_list(
                    "partner_id", "at"))
    rows += list(UpdateDelivery.objects.filter(partner_id__in=ids, queued_at__isnull=False)
                 .values("partner_id").annotate(at=Max("queued_at")).values_list(
                     "partner_id", "at"))
    for partner_id, at in rows:
        if at is not None and (partner_id not in found or at > found[partner_id]):
            found[partner_id] = at
    return found


def next_allowed_at(partner: Partner, *, now: datetime,
                    last: datetime | None = None, known: bool = False) -> datetime:
    """When this partner may next hear from us: last contact + cadence_days, or now."""
    if not known:
        last = last_contacts([partner]).get(partner.pk)
    if last is None:
        return now
    allowed = last + timedelta(days=partner.cadence_days)
    return allowed if allowed > now else now


class Skip(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Route:
    channel: str
    contact: Contact | None
    to_name: str
    to_address: str


def _primary_contact(partner: Partner) -> Contact | None:
    contacts = getattr(partner, "primary_contacts", None)
    if contacts is not None:
        return contacts[0] if contacts else None
    return partner.contacts.filter(is_primary=True).order_by("id").first()


def delivery_route(partner: Partner) -> Route:
    """The channel and address an update goes to, or raise Skip.

    The partner's preferred channel when refnet can send by it and has the address; a
    phone or portal preference (or a missing address) falls back to email, then a letter.
    An address that opted out is not worked around by another channel: it is skipped."""
    if partner.do_not_contact:
        raise Skip(SkipReason.DO_NOT_CONTACT, f"{partner.name} asked for no contact.")
    contact = _primary_contact(partner)
    order = [partner.preferred_channel] if partner.preferred_channel in SENDABLE else []
    order += [c for c in FALLBACK if c not in order]
    for channel in order:
        try:
            to_name, to_address = recipient(channel=channel, partner=partner, contact=contact)
        except NoAddress:
            continue
        blocked = contact_blocked(channel=channel, partner=partner, address=to_address)
        if blocked:
            raise Skip(SkipReason.SUPPRESSED, blocked)
        return Route(channel=channel, contact=contact, to_name=to_name, to_address=to_address)
    wanted = " or ".join(MessageChannel(c).label.lower() for c in order)
    raise Skip(SkipReason.NO_ADDRESS, f"{partner.name} has no address for {wanted}.")


# ---- the plan for one update ------------------------------------------------------------

@dataclass
class Plan:
    """What publishing would do (the compose preview) or did."""

    partners: int = 0
    now: dict[str, int] = field(default_factory=dict)  # channel -> partners sent at once
    later: dict[str, int] = field(default_factory=dict)  # channel -> partners who wait
    skipped: dict[str, int] = field(default_factory=dict)  # skip reason label -> partners
    rows: list[tuple[Partner, Route | None, str, str, datetime]] = field(default_factory=list)
    # Published with more partners due now than PUBLISH_INLINE_MAX: the worker sends them.
    deferred: bool = False

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def now_total(self) -> int:
        return sum(self.now.values())

    @property
    def later_total(self) -> int:
        return sum(self.later.values())


def _partners_for(audience: dict) -> list[Partner]:
    from django.db.models import Prefetch

    return list(audience_partners(audience).prefetch_related(Prefetch(
        "contacts", queryset=Contact.objects.filter(is_primary=True).order_by("id"),
        to_attr="primary_contacts")))


def update_plan(*, audience: dict, now: datetime | None = None) -> Plan:
    """Who an update with this audience would reach, by which channel, now or later, and
    who would be skipped and why. rows: (partner, route, skip reason, detail, when)."""
    now = now or timezone.now()
    partners = _partners_for(audience)
    last = last_contacts(partners)
    plan = Plan(partners=len(partners))
    for partner in partners:
        try:
            route = delivery_route(partner)
        except Skip as skip:
            label = SkipReason(skip.reason).label
            plan.skipped[label] = plan.skipped.get(label, 0) + 1
            plan.rows.append((partner, None, skip.reason, skip.detail, now))
            continue
        when = next_allowed_at(partner, now=now, last=last.get(partner.pk), known=True)
        bucket = plan.now if when <= now else plan.later
        label = MessageChannel(route.channel).label
        bucket[label] = bucket.get(label, 0) + 1
        plan.rows.append((partner, route, "", "", when))
    return plan


# ---- writing and publishing -------------------------------------------------------------

def update_create(*, by: User | None, title: str, body: str, kind: str = UpdateKind.NEWS,
                  audience: dict | None = None) -> Update:
    """A draft update; nothing is sent until it is published."""
    update = Update(created_by=by)
    return update_edit(update=update, by=by, title=title, body=body, kind=kind,
                       audience=audience)


def update_edit(*, update: Update, by: User | None, title: str, body: str, kind: str,
                audience: dict | None) -> Update:
    if update.pk and update.status != UpdateStatus.DRAFT:
        raise ValidationError({"status": "A published update cannot be changed: partners "
                                         "may already have it. Write a new one."})
    if kind not in UpdateKind.values:
        raise ValidationError({"kind": f"{kind!r} is not a kind of update."})
    update_text_check(title=title, body=body)
    update.title = title.strip()
    update.body = body.strip()
    update.kind = kind
    update.audience = audience_clean(audience)
    with transaction.atomic():
        update.full_clean(exclude=["created_by", "published_by"])
        update.save()
    return update


def update_delete(*, update: Update, by: User | None) -> None:
    if update.status != UpdateStatus.DRAFT:
        raise ValidationError({"status": "Only a draft can be deleted; this update was "
                                         "published and is the record of what partners got."})
    update.delete()


def update_publish(*, update: Update, by: User | None, now: datetime | None = None) -> Plan:
    """Publish a draft: one delivery per matching partner (skipped, or waiting for the
    partner's next allowed send), and the batches that are due now are queued at once.
    One transaction: a publish that fails leaves the draft as it was."""
    now = now or timezone.now()
    with transaction.atomic():
        update = Update.objects.select_for_update().get(pk=update.pk)
        if update.status != UpdateStatus.DRAFT:
            raise ValidationError({"status": "This update was already published."})
        update_text_check(title=update.title, body=update.body)
        plan = update_plan(audience=update.audience, now=now)
        if not plan.partners:
            raise ValidationError({"audience": "No partner matches this audience: widen it "
                                               "before publishing."})
        deliveries = []
        for partner, route, reason, detail, when in plan.rows:
            deliveries.append(UpdateDelivery(
                update=update, partner=partner, channel=route.channel if route else "",
                status=DeliveryStatus.SKIPPED if reason else DeliveryStatus.PENDING,
                skip_reason=reason, skip_detail=detail[:300], scheduled_for=when))
        UpdateDelivery.objects.bulk_create(deliveries)
        update.status = UpdateStatus.SCHEDULED
        update.published_at = now
        update.published_by = by
        update.save(update_fields=["status", "published_at", "published_by"])
        plan.deferred = plan.now_total > PUBLISH_INLINE_MAX
        if not plan.deferred:
            for partner, route, _reason, _detail, when in plan.rows:
                if route is not None and when <= now:
                    # Checked a moment ago in this transaction: no need to ask again.
                    send_batch(partner_id=partner.pk, now=now, partner=partner, route=route)
        update_refresh_status(update)
    return plan


# ---- batches ----------------------------------------------------------------------------

def _batch_sources(updates: list[Update], channel: str) -> tuple[str, str]:
    """(subject, body) template sources for one message carrying these updates, newest
    first. Each title and body passed update_text_check, so the whole is in the safe
    subset too (each piece compiles on its own, so their concatenation does)."""
    if channel == MessageChannel.SMS:
        titles = "; ".join(u.title for u in updates)
        return "", f"{{{{ practice.name }}}}: {titles}. Questions? {{{{ practice.phone }}}}"
    if len(updates) == 1:
        subject = updates[0].title
    else:
        subject = f"{len(updates)} updates from {{{{ practice.name }}}}"
    parts = ["Dear {{ partner.greeting }},", ""]
    if len(updates) > 1:
        parts += [f"Here are {len(updates)} updates from {{{{ practice.name }}}}.", ""]
    for index, update in enumerate(updates):
        if index:
            parts += ["* * *", ""]
        parts += [update.title, "", update.body, ""]
    parts += ["With best regards,", "{{ sender.name }}", "{{ practice.name }}",
              "{{ practice.phone }}"]
    return subject, "\n".join(parts)


def batch_key(partner_id: int, first_delivery_id: int) -> str:
    """One key per batch: each delivery is in exactly one batch, so the batch's lowest
    delivery id names it. Also the outbox message's dedupe key."""
    return f"updates:p{partner_id}:d{first_delivery_id}"


def _skip(ids: list[int], reason: str, detail: str) -> None:
    UpdateDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.SKIPPED, skip_reason=reason, skip_detail=detail[:300])


def send_batch(*, partner_id: int, now: datetime, partner: Partner | None = None,
               route: Route | None = None) -> OutboxMessage | None:
    """Send all of one partner's pending updates as one message, if their cadence allows
    it now; otherwise move them to the next allowed time. None when nothing was sent
    (nothing pending, another worker has them, not yet allowed, or skipped).

    `partner` and `route` are for update_publish, which has just checked both in the same
    transaction (cadence, do-not-contact, address, suppression)."""
    with transaction.atomic():
        pending = list(
            UpdateDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(partner_id=partner_id, status=DeliveryStatus.PENDING)
            .select_related("update", "update__published_by")
            .order_by("-update__published_at", "-update_id"))
        if not pending:
            return None
        ids = [d.pk for d in pending]
        checked = partner is not None and route is not None
        if not checked:
            partner = Partner.objects.get(pk=partner_id)
        assert partner is not None
        allowed = now if checked else next_allowed_at(partner, now=now)
        if allowed > now:
            UpdateDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
                scheduled_for=allowed)
            return None
        key = batch_key(partner_id, min(ids))
        claimed = UpdateDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING) \
            .update(status=DeliveryStatus.BATCHED, batch_key=key)
        if claimed != len(ids):
            transaction.set_rollback(True)  # someone else took part of it: leave it to them
            return None
        if partner.merged_into_id is not None:
            _skip(ids, SkipReason.NO_ADDRESS, f"{partner.name} was merged into another "
                                              "partner.")
            return None
        if route is None:
            try:
                route = delivery_route(partner)
            except Skip as skip:
                _skip(ids, skip.reason, skip.detail)
                return None
        updates = [d.update for d in pending]
        sender = updates[0].published_by
        subject, body = _batch_sources(updates, route.channel)
        # Updates are the practice's own news: the general audience's values (with the
        # unsubscribe link in email, CAN-SPAM) for every partner; no patient, ever.
        context = message_context(audience=Audience.GENERAL, channel=route.channel,
                                  partner=partner, contact=route.contact, sender=sender,
                                  to_address=route.to_address)
        subject, body_text, body_html = render_text(
            subject=subject, body=body, audience=Audience.GENERAL, channel=route.channel,
            context=context)
        message = message_enqueue(
            channel=route.channel, purpose=Purpose.PARTNER_UPDATE,
            audience=audience_for(partner=partner), partner=partner, contact=route.contact,
            to_name=route.to_name, to_address=route.to_address, subject=subject,
            body_text=body_text, body_html=body_html, names_patient=False, by=sender,
            dedupe_key=key)
        UpdateDelivery.objects.filter(pk__in=ids, status=DeliveryStatus.BATCHED).update(
            status=DeliveryStatus.QUEUED, channel=route.channel, message=message,
            queued_at=now)
    return message


# ---- following the outbox ---------------------------------------------------------------

_FROM_OUTBOX = {
    OutboxStatus.SUPPRESSED: SkipReason.SUPPRESSED,
    OutboxStatus.DEAD: SkipReason.FAILED,
    OutboxStatus.CANCELLED: SkipReason.CANCELLED,
}


def deliveries_follow_outbox() -> int:
    """Queued deliveries take their message's outcome: sent (with when), or not sent and
    why. A dead letter that is resent later is not followed again (the delivery says it
    failed; the outbox shows the resend)."""
    changed = UpdateDelivery.objects.filter(
        status=DeliveryStatus.QUEUED, message__status=OutboxStatus.SENT).update(
        status=DeliveryStatus.SENT,
        sent_at=Subquery(OutboxMessage.objects.filter(pk=OuterRef("message_id"))
                         .values("sent_at")[:1]))
    for outbox_status, reason in _FROM_OUTBOX.items():
        changed += UpdateDelivery.objects.filter(
            status=DeliveryStatus.QUEUED, message__status=outbox_status).update(
            status=DeliveryStatus.SKIPPED, skip_reason=reason,
            skip_detail=Subquery(OutboxMessage.objects.filter(pk=OuterRef("message_id"))
                                 .values("last_error")[:1]))
    return changed


def update_refresh_status(update: Update) -> str:
    """Scheduled while some partner waits, sending while some message is in the outbox,
    done when every delivery was sent or skipped."""
    if update.status == UpdateStatus.DRAFT:
        return update.status
    counts = update.deliveries.aggregate(
        waiting=Count("pk", filter=Q(status=DeliveryStatus.PENDING)),
        moving=Count("pk", filter=Q(status__in=[DeliveryStatus.BATCHED,
                                                 DeliveryStatus.QUEUED])))
    status = (UpdateStatus.SCHEDULED if counts["waiting"] else
              UpdateStatus.SENDING if counts["moving"] else UpdateStatus.DONE)
    if status != update.status:
        Update.objects.filter(pk=update.pk).update(status=status)
        update.status = status
    return status


def updates_tick(now: datetime | None = None) -> dict[str, int]:
    """What `refnet worker` runs each tick: send the batches that are due, then bring
    deliveries and updates up to date with the outbox. {"update_batches": n, ...}."""
    now = now or timezone.now()
    partner_ids = list(UpdateDelivery.objects.filter(
        status=DeliveryStatus.PENDING, scheduled_for__lte=now)
        .values("partner_id").annotate(first=Min("scheduled_for"))
        .order_by("first", "partner_id").values_list("partner_id", flat=True)
        [:BATCHES_PER_TICK])
    batches = 0
    for partner_id in partner_ids:
        try:
            if send_batch(partner_id=partner_id, now=now) is not None:
                batches += 1
        except Exception:
            # One partner's broken batch must not hold back everyone else's.
            log.exception("update batch for partner %s failed; will try again next tick",
                          partner_id)
    followed = deliveries_follow_outbox()
    for update in Update.objects.filter(status__in=[UpdateStatus.SCHEDULED,
                                                    UpdateStatus.SENDING]):
        update_refresh_status(update)
    return {"update_batches": batches, "update_deliveries_followed": followed}
