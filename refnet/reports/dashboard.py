"""The dashboard's reads: a handful of aggregate queries, whatever the size of the practice.

1. One query on MonthlyReferralStat (kept exact by triggers) gives the 24-month trend, and
   from the same rows this month, last month, the same month last year and the funnel.
2. The monthly per-partner rollups (MonthlyPartnerTotal, or MonthlyPartnerStat for one
   location) give the top referrers and, with a probe for an earlier month, who referred
   for the first time ever.
3. Open re-engage follow-ups (partners gone quiet) and overdue follow-ups by owner read the
   follow-up table's partial indexes on open rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, Window
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpStatus
from refnet.partners.models import Partner, PartnerKind

from .forms import month_end, month_start
from .models import MonthlyPartnerStat, MonthlyPartnerTotal, MonthlyReferralStat
from .quiet import gone_quiet

TREND_MONTHS = 24
TOP_REFERRERS = 10
NEW_REFERRERS = 10
QUIET_PARTNERS = 10
STAGES = ("received", "contacted", "scheduled", "seen", "won")
STAGE_LABELS = {"received": "Received", "contacted": "Contacted", "scheduled": "Scheduled",
                "seen": "Seen", "won": "Became patients"}


def month_key(day: date) -> int:
    return day.year * 100 + day.month


@dataclass
class MonthFigures:
    month: date
    received: int = 0
    contacted: int = 0
    scheduled: int = 0
    seen: int = 0
    won: int = 0

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y}"


@dataclass
class Referrer:
    partner_id: int
    name: str
    kind: str
    referrals: int

    @property
    def kind_label(self) -> str:
        return PartnerKind(self.kind).label if self.kind in PartnerKind.values else self.kind


@dataclass
class OwnerOverdue:
    owner_id: int | None
    name: str
    overdue: int


@dataclass
class Dashboard:
    month: date
    location_id: int | None
    this: MonthFigures
    last: MonthFigures
    year_ago: MonthFigures
    trend: list[MonthFigures]
    top_referrers: list[Referrer]
    new_referrers: list[Referrer]
    new_referrers_total: int
    quiet: list[FollowUp]
    quiet_total: int
    overdue_by_owner: list[OwnerOverdue]
    funnel: list[tuple[str, str, int, float | None]] = field(default_factory=list)

    @property
    def overdue_total(self) -> int:
        return sum(o.overdue for o in self.overdue_by_owner)


def monthly_figures(first: date, last: date, *, location_id: int | None) -> list[MonthFigures]:
    """Per month from `first` to `last` (first days of months), empty months included."""
    qs = MonthlyReferralStat.objects.filter(month__gte=month_key(first),
                                            month__lte=month_key(last))
    if location_id:
        qs = qs.filter(location_id=location_id)
    sums = {row["month"]: row for row in qs.values("month").annotate(
        **{stage: Sum(stage) for stage in STAGES})}
    out = []
    month = first
    while month <= last:
        row = sums.get(month_key(month), {})
        out.append(MonthFigures(month, **{s: row.get(s) or 0 for s in STAGES}))
        month = month_start(month, 1)
    return out


def _month_partner_rows(month: date, location_id: int | None) -> QuerySet[Any]:
    """The month's per-partner counts from the rollup (kept exact by triggers): at one
    location, or all together. Partners who referred this month (received > 0)."""
    if location_id:
        rows: QuerySet[Any] = MonthlyPartnerStat.objects.filter(location_id=location_id)
    else:
        rows = MonthlyPartnerTotal.objects.all()
    return rows.filter(month=month_key(month), received__gt=0).exclude(partner_id=0)


def _referrers(rows: list[tuple[int, int]]) -> list[Referrer]:
    partners = Partner.objects.only("name", "kind").in_bulk([pid for pid, _ in rows])
    return [Referrer(pid, partners[pid].name, partners[pid].kind, n)
            for pid, n in rows if pid in partners]


def top_referrers(month: date, *, location_id: int | None,
                  limit: int = TOP_REFERRERS) -> list[Referrer]:
    """The month's partners with the most referrals, ties by name. Read from the monthly
    rollup: grouping the month's referrals (~17,000 in a month of a busy group) cost
    ~15 ms on every dashboard. Every partner tied with the last one shown is read, so
    that ties are broken by name as before."""
    rows = _month_partner_rows(month, location_id).order_by("-received", "partner_id")
    top = list(rows.values_list("partner_id", "received")[:limit])
    if len(top) == limit:
        top = list(rows.filter(received__gte=top[-1][1])
                   .values_list("partner_id", "received"))
    referrers = sorted(_referrers(top), key=lambda r: (-r.referrals, r.name))
    return referrers[:limit]


def new_referrers(month: date, *, location_id: int | None,
                  limit: int = NEW_REFERRERS) -> tuple[list[Referrer], int]:
    """Partners whose first-ever referral (to any location) came this month, most
    referrals first, and how many there are: the month's rollup rows without an earlier
    month in the partner's all-locations rollup (an index probe each)."""
    earlier = MonthlyPartnerTotal.objects.filter(
        partner_id=OuterRef("partner_id"), month__lt=month_key(month), received__gt=0)
    found = list(_month_partner_rows(month, location_id).filter(~Exists(earlier))
                 .order_by("-received", "partner_id").values_list("partner_id", "received"))
    return _referrers(found[:limit]), len(found)


def partners_gone_quiet(*, location_id: int | None = None, now: datetime | None = None,
                        limit: int = QUIET_PARTNERS) -> tuple[list[FollowUp], int]:
    """Open re-engage follow-ups: their summary carries the partner's own baseline. With a
    location, partners whose referrals in the baseline window went there (quiet.py)."""
    qs = gone_quiet(location_ids=[location_id] if location_id else [], now=now)
    if not location_id:
        # Practice-wide: the first ten from the (kind, due_at, id) index of open partner
        # follow-ups, and a count of that index alone. A window count would join every
        # open re-engage (~1,600) to its partner and assignee to show ten.
        rows = list(qs.select_related("partner", "assignee").order_by("due_at", "id")[:limit])
        return rows, (qs.count() if len(rows) == limit else len(rows))
    # The count rides along (a window over the same rows): with a location, each
    # re-engage is tested against the partner's referrals once, not once more to count.
    rows = list(qs.select_related("partner", "assignee")
                .annotate(quiet_total=Window(Count("id"))).order_by("due_at", "id")[:limit])
    return rows, rows[0].quiet_total if rows else 0


def overdue_by_owner(*, location_id: int | None,
                     now: datetime | None = None) -> list[OwnerOverdue]:
    """Open follow-ups past due, per assignee (unassigned as one line), most first.
    With a location, partner follow-ups (no location) still count: they serve every one."""
    now = now or timezone.now()
    qs = FollowUp.objects.filter(status=FollowUpStatus.OPEN, due_at__lt=now)
    if location_id:
        qs = qs.filter(Q(location_id=location_id) | Q(location__isnull=True))
    rows = list(qs.values("assignee").annotate(n=Count("id")).order_by("-n", "assignee"))
    users = get_user_model().objects.in_bulk([r["assignee"] for r in rows if r["assignee"]])
    out = []
    for r in rows:
        user = users.get(r["assignee"])
        name = (user.get_full_name() or user.username) if user else "Unassigned"
        out.append(OwnerOverdue(r["assignee"], name, r["n"]))
    return out


def funnel(figures: MonthFigures) -> list[tuple[str, str, int, float | None]]:
    """(stage, label, count, share of received) for each stage of the month's referrals."""
    received = figures.received
    return [(s, STAGE_LABELS[s], getattr(figures, s),
             (getattr(figures, s) / received) if received else None) for s in STAGES]


def dashboard(*, month: date, location_id: int | None = None,
              now: datetime | None = None) -> Dashboard:
    month = month_start(month)
    first = month_start(month, -(TREND_MONTHS - 1))
    trend = monthly_figures(first, month, location_id=location_id)
    by_month = {f.month: f for f in trend}
    this = by_month[month]
    tops = top_referrers(month, location_id=location_id)
    new, new_total = new_referrers(month, location_id=location_id)
    quiet, quiet_total = partners_gone_quiet(location_id=location_id, now=now)
    return Dashboard(
        month=month, location_id=location_id, this=this,
        last=by_month[month_start(month, -1)],
        year_ago=by_month[month_start(month, -12)],
        trend=trend, top_referrers=tops, new_referrers=new, new_referrers_total=new_total,
        quiet=quiet, quiet_total=quiet_total,
        overdue_by_owner=overdue_by_owner(location_id=location_id, now=now),
        funnel=funnel(this),
    )


def month_bounds(month: date) -> tuple[date, date]:
    return month_start(month), month_end(month)
