"""Writes to partners, contacts and the search index. Each function is one transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from refnet.accounts.models import User

from .models import (
    Contact,
    Partner,
    PartnerAlias,
    PartnerMerge,
    PartnerRemoval,
    SearchEntry,
    Tag,
)
from .search import index_fields


def _entry(partner_id: int, label: str, source: str, contact_id: int | None = None):
    words, sounds = index_fields(label)
    return SearchEntry(
        partner_id=partner_id, contact_id=contact_id, source=source, label=label,
        words=words, sounds=sounds,
    )


def search_entries_for(partner: Partner) -> list[SearchEntry]:
    entries = [_entry(partner.pk, partner.name, SearchEntry.Source.NAME)]
    entries += [_entry(partner.pk, a.name, SearchEntry.Source.ALIAS) for a in partner.aliases.all()]
    entries += [
        _entry(partner.pk, c.name, SearchEntry.Source.CONTACT, c.pk) for c in partner.contacts.all()
    ]
    return entries


def search_index_partner(*, partner: Partner) -> None:
    """Rebuild the search entries of one partner (name, aliases, contacts)."""
    SearchEntry.objects.filter(partner=partner).delete()
    if partner.merged_into_id is None and partner.removed_at is None:
        SearchEntry.objects.bulk_create(search_entries_for(partner))


def _stamp(obj: Any, by: User | None) -> None:
    obj._history_user = by  # simple_history: who made this change, outside a request too


@transaction.atomic
def partner_create(*, by: User | None, tags: list | None = None, **fields: Any) -> Partner:
    partner = Partner(**fields)
    partner.full_clean()
    _stamp(partner, by)
    partner.save()
    if tags:
        partner.tags.set(tags)
    search_index_partner(partner=partner)
    return partner


@transaction.atomic
def partner_update(*, partner: Partner, by: User | None, tags: list | None = None,
                   **fields: Any) -> Partner:
    for name, value in fields.items():
        setattr(partner, name, value)
    partner.full_clean()
    _stamp(partner, by)
    partner.save()
    if tags is not None:
        partner.tags.set(tags)
    search_index_partner(partner=partner)
    return partner


@transaction.atomic
def contact_create(*, partner: Partner, by: User | None, **fields: Any) -> Contact:
    contact = Contact(partner=partner, **fields)
    contact.full_clean()
    _stamp(contact, by)
    contact.save()
    SearchEntry.objects.bulk_create([_entry(partner.pk, contact.name, "contact", contact.pk)])
    return contact


@transaction.atomic
def partner_add_alias(*, partner: Partner, name: str) -> PartnerAlias:
    alias, created = PartnerAlias.objects.get_or_create(partner=partner, name=name.strip())
    if created:
        SearchEntry.objects.bulk_create([_entry(partner.pk, alias.name, "alias")])
    return alias


class MergeError(ValueError):
    pass


def _move(model, field: str, old: Partner, new: Partner, by: User | None, reason: str,
          exclude: int | None = None) -> int:
    """Repoint `field` from old to new on every row, each with a history entry saying who.
    Every row means every row: removed referrals too (the base manager), so a restored one
    comes back pointing at the survivor."""
    rows = list(model._base_manager.filter(**{field: old}).exclude(pk=exclude))
    for row in rows:
        setattr(row, field, new)
    bulk_update_with_history(rows, model, [field], default_user=by,
                             default_change_reason=reason, manager=model._base_manager)
    return len(rows)


@transaction.atomic
def partner_merge(*, survivor: Partner, duplicate: Partner, by: User | None) -> PartnerMerge:
    """Fold `duplicate` into `survivor`.

    1. Lock both rows so two merges of the same pair cannot interleave.
    2. Move referrals and contacts to the survivor; point members (clinicians of a merged
       practice) at it too.
    3. Keep the duplicate as a row marked merged_into (its history stays readable) and its
       name as an alias of the survivor, so searching the old name finds the survivor.
    4. Record the merge: who, when, what moved.
    """
    from refnet.referrals.models import Referral

    if survivor.pk == duplicate.pk:
        raise MergeError("A partner cannot be merged into itself.")
    locked = {
        p.pk: p for p in Partner.objects.select_for_update().filter(pk__in=[survivor.pk,
                                                                           duplicate.pk])
    }
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    if survivor.merged_into_id or duplicate.merged_into_id:
        raise MergeError("One of these partners was already merged; reload and try again.")

    reason = f"merged {duplicate.name!r} (#{duplicate.pk}) into #{survivor.pk}"
    referrals_moved = _move(Referral, "source_partner", duplicate, survivor, by, reason)
    contacts_moved = _move(Contact, "partner", duplicate, survivor, by, reason)
    _move(Partner, "organization", duplicate, survivor, by, reason, exclude=survivor.pk)
    _move_followups(duplicate, survivor, by)
    if survivor.organization_id == duplicate.pk:
        survivor.organization = None  # it would belong to itself
    for alias in PartnerAlias.objects.filter(partner=duplicate):
        PartnerAlias.objects.get_or_create(partner=survivor, name=alias.name)
    PartnerAlias.objects.filter(partner=duplicate).delete()
    if duplicate.name.strip().lower() != survivor.name.strip().lower():
        PartnerAlias.objects.get_or_create(partner=survivor, name=duplicate.name)
    if not survivor.npi and duplicate.npi and survivor.is_clinical:
        survivor.npi = duplicate.npi
    for tag in duplicate.tags.all():
        survivor.tags.add(tag)
    _stamp(survivor, by)
    survivor.save()

    duplicate.merged_into = survivor
    _stamp(duplicate, by)
    duplicate.save()

    search_index_partner(partner=duplicate)
    search_index_partner(partner=survivor)
    return PartnerMerge.objects.create(
        survivor=survivor, merged=duplicate, merged_name=duplicate.name, by=by,
        referrals_moved=referrals_moved, contacts_moved=contacts_moved,
    )


class RemoveError(Exception):
    pass


@transaction.atomic
def partner_remove(*, partner: Partner, by: User | None, reason: str) -> Partner:
    """Take a partner out of use without deleting it: hidden from the directory, name
    search, intake, the follow-up rules and updates; its referrals, history and reports
    stay as they were (report rollups depend on kind, category and owner, none of which
    change). Its open partner-level follow-ups are skipped with the reason. Restorable."""
    from refnet.followups.models import FollowUp, FollowUpStatus

    reason = " ".join(reason.split())
    if not reason:
        raise RemoveError("Say why this partner is removed.")
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.merged_into_id:
        raise RemoveError("This partner was merged into another; there is nothing to remove.")
    if partner.removed_at:
        raise RemoveError("This partner was already removed.")
    now = timezone.now()
    partner.removed_at = now
    PartnerRemoval.objects.create(partner=partner, removed_at=now, removed_by=by,
                                  reason=reason[:300])
    _stamp(partner, by)
    partner._change_reason = f"removed: {reason}"[:100]
    partner.save()
    for followup in FollowUp.objects.filter(partner=partner, status=FollowUpStatus.OPEN,
                                            referral__isnull=True):
        followup.status = FollowUpStatus.SKIPPED
        followup.skip_reason = f"partner removed: {reason}"[:300]
        followup.completed_at, followup.completed_by = now, by
        followup._history_user = by
        followup.save()
    search_index_partner(partner=partner)
    return partner


@transaction.atomic
def partner_restore(*, partner: Partner, by: User | None) -> Partner:
    """Bring a removed partner back, as it was (skipped follow-ups stay skipped; the rules
    make new ones)."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.removed_at is None:
        raise RemoveError("This partner is not removed.")
    partner.removed_at = None
    PartnerRemoval.objects.filter(partner=partner, restored_at__isnull=True).update(
        restored_at=timezone.now(), restored_by=by)
    _stamp(partner, by)
    partner._change_reason = "restored"
    partner.save()
    search_index_partner(partner=partner)
    return partner


def _move_followups(duplicate: Partner, survivor: Partner, by: User | None) -> None:
    """Follow-ups go with the partner. An open partner-level one (check-in, re-engage) that
    would clash with the survivor's own open one of the same kind is skipped instead: one
    open check-in per partner, and nobody calls the same clinic twice."""
    from refnet.followups.models import FollowUp, FollowUpStatus

    survivor_open = set(FollowUp.objects.filter(partner=survivor, status=FollowUpStatus.OPEN,
                                                referral__isnull=True)
                        .values_list("kind", flat=True))
    for followup in FollowUp.objects.filter(partner=duplicate):
        if (followup.status == FollowUpStatus.OPEN and followup.referral_id is None
                and followup.kind in survivor_open):
            followup.status = FollowUpStatus.SKIPPED
            followup.skip_reason = f"merged into {survivor.name}"
            followup.completed_at = timezone.now()
            followup.completed_by = by
        followup.partner = survivor
        followup._history_user = by
        followup.save()


# --- Tags by name, for the partner forms -------------------------------------------------


def _tag_key(name: str) -> str:
    return " ".join(name.split()).casefold()


@transaction.atomic
def tags_ensure(*, names: list[str]) -> list[Tag]:
    """The Tag rows for these names, creating the missing ones.

    Matching ignores case and repeated spaces, so "Sports  medicine" typed on one partner
    reuses "sports medicine" from another instead of growing a near-duplicate tag.
    """
    wanted: dict[str, str] = {}
    for name in names:
        clean = " ".join(name.split())
        if clean:
            wanted.setdefault(_tag_key(clean), clean)
    if not wanted:
        return []
    match = Q()
    for clean in wanted.values():
        match |= Q(name__iexact=clean)
    existing = {_tag_key(t.name): t for t in Tag.objects.filter(match)}
    tags = []
    for key, clean in wanted.items():
        tag = existing.get(key)
        if tag is None:
            tag = Tag(name=clean)
            tag.full_clean()
            tag.save()
        tags.append(tag)
    return tags


@transaction.atomic
def partner_create_with_tag_names(*, by: User | None, tag_names: list[str],
                                  **fields: Any) -> Partner:
    """partner_create with tags given by name. One transaction: a partner that fails
    validation leaves no freshly made tags behind."""
    return partner_create(by=by, tags=tags_ensure(names=tag_names), **fields)


@transaction.atomic
def partner_update_with_tag_names(*, partner: Partner, by: User | None, tag_names: list[str],
                                  **fields: Any) -> Partner:
    """partner_update with the full list of tag names (an empty list clears the tags)."""
    return partner_update(partner=partner, by=by, tags=tags_ensure(names=tag_names), **fields)
