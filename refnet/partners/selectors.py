"""Reads for the partner directory, detail and merge screens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone

from refnet.accounts.permissions import Cap, has_cap

from .models import Partner, PartnerMerge
from .search import partners_search

DIRECTORY_PAGE_SIZE = 50
# A typed name shows at most this many matches; past that the user should type more.
DIRECTORY_SEARCH_LIMIT = 50
REFERRAL_HISTORY_LIMIT = 50
TWELVE_MONTHS_DAYS = 365  # the directory's "Referrals, last 12 months"
# Longest merged_into chain we follow; merges refuse merged partners, so real chains are
# short, and the cap keeps a hand-edited cycle from looping forever.
MAX_MERGE_HOPS = 20


def get_partner_for(user: Any, pk: int) -> Partner:
    """The partner with this id if `user` may see it; otherwise 404.

    Every role that may open partner pages sees the whole directory today. Narrowing that
    later (by location, by owner) happens here, once, for every partner view.
    """
    if not has_cap(user, Cap.PARTNERS_VIEW):
        raise Http404("No such partner.")
    # Not merged_into: only a merged partner's pages read it (partner_survivor, by id),
    # and a third join cost every partner page ~0.4 ms of Python.
    partner = (
        Partner.objects.select_related("owner", "organization")
        .filter(pk=pk)
        .first()
    )
    if partner is None:
        raise Http404("No such partner.")
    return partner


def partner_survivor(partner: Partner) -> Partner:
    """The live partner a merged one was folded into (following A -> B -> C); `partner`
    itself when it was never merged."""
    current = partner
    for _ in range(MAX_MERGE_HOPS):
        if current.merged_into_id is None:
            return current
        current = Partner.objects.select_related("merged_into").get(pk=current.merged_into_id)
    raise Http404("This partner's merge chain does not end.")


# --- Directory -------------------------------------------------------------------------


def partners_directory(
    *,
    q: str = "",
    kind: str = "",
    category: str = "",
    stage: str = "",
    owner: Any = None,
) -> QuerySet[Partner] | list[Partner]:
    """The directory rows for these filters.

    Without `q`: a queryset of live partners ordered by name, for the paginator.
    With `q`: the name search's matches (so typos and nicknames work), filtered, in its rank
    order, as a list of at most DIRECTORY_SEARCH_LIMIT partners.
    """
    qs = _directory_rows(kind=kind, category=category, stage=stage, owner=owner)
    q = q.strip()
    if not q:
        return qs.order_by("name", "pk")
    return [partner for partner, _n in _searched(qs, q)]


def _directory_rows(*, kind: str, category: str, stage: str, owner: Any) -> QuerySet[Partner]:
    qs = Partner.objects.live().select_related("owner")
    if kind:
        qs = qs.filter(kind=kind)
    if category:
        qs = qs.filter(category=category)
    if stage:
        qs = qs.filter(stage=stage)
    if owner is not None:
        qs = qs.filter(owner=owner)
    return qs


def _searched(qs: QuerySet[Partner], q: str) -> list[tuple[Partner, int]]:
    """The search's matches among `qs`, in rank order, each with the referrals it sent in
    the search's volume window (settings.REFNET_SEARCH_VOLUME_DAYS)."""
    matches = partners_search(q, limit=DIRECTORY_SEARCH_LIMIT)
    found = qs.in_bulk([m.partner_id for m in matches])
    return [(found[m.partner_id], m.recent_referrals) for m in matches
            if m.partner_id in found]


def directory_search(*, q: str, kind: str = "", category: str = "", stage: str = "",
                     owner: Any = None) -> list[tuple[Partner, int]]:
    """The directory's name search (the filters as partners_directory takes them): its
    matches in rank order, each with its referrals in the last 12 months. The search ranks
    by that same count when its window is a year (the default), so it is not counted
    twice."""
    rows = _searched(_directory_rows(kind=kind, category=category, stage=stage, owner=owner),
                     q.strip())
    if settings.REFNET_SEARCH_VOLUME_DAYS == TWELVE_MONTHS_DAYS:
        return rows
    counts = referral_counts_since([p.pk for p, _n in rows], twelve_months_ago())
    return [(p, counts.get(p.pk, 0)) for p, _n in rows]


def referral_counts_since(partner_ids: list[int], since: datetime) -> dict[int, int]:
    """{partner id: referrals received since `since`}, in one grouped query for a page."""
    from refnet.referrals.models import Referral

    if not partner_ids:
        return {}
    rows = (
        Referral.objects.filter(source_partner_id__in=partner_ids, received_at__gte=since)
        .values("source_partner_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("source_partner_id", "n")
    )
    return dict(rows)


def twelve_months_ago(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return now - timedelta(days=TWELVE_MONTHS_DAYS)


# --- Detail ----------------------------------------------------------------------------


def partner_referral_history(
    partner: Partner, *, with_patients: bool, limit: int = REFERRAL_HISTORY_LIMIT
) -> list[Any]:
    """The latest referrals from this partner, newest first.

    Loads only what the page shows: never reason or diagnosis, and patient names only for
    a caller allowed to see them, so a template slip cannot leak what was never read.
    """
    from refnet.referrals.models import Referral

    fields = ["id", "received_at", "status", "service_line__name", "location__name",
              "source_partner_id"]
    related = ["service_line", "location"]
    if with_patients:
        fields += ["patient__id", "patient__first_name", "patient__last_name"]
        related.append("patient")
    return list(
        Referral.objects.filter(source_partner=partner)
        .select_related(*related)
        .only(*fields)
        .order_by("-received_at", "-id")[:limit]
    )


def _month_start(d: date, shift: int = 0) -> date:
    index = d.year * 12 + (d.month - 1) + shift
    return date(index // 12, index % 12 + 1, 1)


def partner_monthly_counts(
    partner: Partner, months: int = 24, *, today: date | None = None
) -> list[tuple[date, int]]:
    """Referrals from this partner per calendar month (practice time zone), oldest first,
    for the `months` months ending with the current one; months without any are 0.

    Read from the reports' monthly per-partner rollup (kept exact by triggers; its months
    are practice-local): truncating each referral's date to its month took ~50 ms on
    SQLite for a partner with a few hundred referrals a month."""
    from refnet.reports.models import MonthlyPartnerTotal

    today = today or timezone.localdate()
    first = _month_start(today, -(months - 1))
    wanted = [_month_start(first, i) for i in range(months)]
    key = {month: month.year * 100 + month.month for month in wanted}
    counted = dict(
        MonthlyPartnerTotal.objects.filter(partner_id=partner.pk,
                                           month__gte=key[wanted[0]],
                                           month__lte=key[wanted[-1]])
        .values_list("month", "received")
    )
    return [(month, counted.get(key[month], 0)) for month in wanted]


def partner_merge_history(partner: Partner) -> QuerySet[PartnerMerge]:
    """Merges that folded a duplicate into this partner, newest first."""
    return PartnerMerge.objects.filter(survivor=partner).select_related("by").order_by("-at")


# --- Merge -----------------------------------------------------------------------------


def merge_candidates(survivor: Partner, q: str, *, limit: int = 20) -> list[Partner]:
    """Live partners whose name (or alias, or contact) matches `q`, in search rank order,
    without the survivor itself."""
    if not q.strip():
        return []
    ranked_ids = [
        m.partner_id for m in partners_search(q, limit=limit + 1) if m.partner_id != survivor.pk
    ][:limit]
    found = Partner.objects.live().exclude(pk=survivor.pk).in_bulk(ranked_ids)
    return [found[pk] for pk in ranked_ids if pk in found]


@dataclass(frozen=True)
class MoveCounts:
    referrals: int
    contacts: int


def partner_move_counts(partner: Partner) -> MoveCounts:
    """What a merge would move off this partner."""
    from refnet.referrals.models import Referral

    return MoveCounts(
        referrals=Referral.all_objects.filter(source_partner=partner).count(),  # removed too
        contacts=partner.contacts.count(),
    )


def partner_open_removal(partner: Partner):
    """The removal in force for a removed partner (None if it is not removed)."""
    if partner.removed_at is None:
        return None
    return partner.removals.filter(restored_at__isnull=True).select_related(
        "removed_by").first()


def partners_gone(limit: int = 500) -> list[dict[str, Any]]:
    """Removed and merged partners, most recent first (at most `limit`), each with who,
    when and why (a removal) or where it went (a merge)."""
    from .models import PartnerMerge, PartnerRemoval

    removed = [{"partner": r.partner, "at": r.removed_at, "by": r.removed_by, "why": r.reason,
                "into": None}
               for r in PartnerRemoval.objects.filter(restored_at__isnull=True,
                                                      partner__removed_at__isnull=False)
               .select_related("partner", "removed_by").order_by("-removed_at")[:limit]]
    merged = [{"partner": m.merged, "at": m.at, "by": m.by, "why": "merged", "into": m.survivor}
              for m in PartnerMerge.objects.select_related("merged", "survivor", "by")
              .order_by("-at")[:limit]]
    return sorted(removed + merged, key=lambda r: r["at"], reverse=True)[:limit]
