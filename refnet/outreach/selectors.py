"""Reads for outreach: event lists, a partner's events, and the referrals attributed to an
event.

Attribution (docs/outreach.md): for each partner with an attendee, the referrals received
in the window (event start, event start + N days] against that partner's own baseline,
its referrals in the 365 days before the event, (start - 365 days, start], scaled to the
window: baseline = count x days / 365. While the window is still open the baseline is
scaled to the days elapsed so far. Attributed = max(0, actual - baseline) per partner,
summed over partners: a partner that referred less than usual does not cancel one that
referred more. Cost per attributed referral = cost / attributed, or None when nothing is
attributed. A merged partner counts as its survivor (its referrals moved there).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from refnet.partners.models import Partner
from refnet.referrals.models import Referral

from .models import Event, Invitee, Playbook, Rsvp

BASELINE_DAYS = 365
TWO = Decimal("0.01")


@dataclass(frozen=True)
class PartnerAttribution:
    partner_id: int
    name: str
    attendees: int
    before: int  # referrals in the 365 days before
    baseline: Decimal  # expected in the window at that rate
    actual: int  # referrals in the window
    attributed: Decimal


@dataclass
class Attribution:
    days: int
    window_start: datetime
    window_end: datetime
    elapsed_days: int
    rows: list[PartnerAttribution] = field(default_factory=list)
    cost: Decimal = Decimal("0")

    @property
    def window_open(self) -> bool:
        return self.elapsed_days < self.days

    @property
    def actual(self) -> int:
        return sum(r.actual for r in self.rows)

    @property
    def baseline(self) -> Decimal:
        return sum((r.baseline for r in self.rows), Decimal("0"))

    @property
    def attributed(self) -> Decimal:
        return sum((r.attributed for r in self.rows), Decimal("0"))

    @property
    def cost_per_referral(self) -> Decimal | None:
        if self.attributed <= 0:
            return None
        return (self.cost / self.attributed).quantize(TWO, ROUND_HALF_UP)


def attribution_compute(*, starts_at: datetime, days: int, cost: Decimal, now: datetime,
                        attendees: list[tuple[int, str]],
                        received: dict[int, list[datetime]]) -> Attribution:
    """Pure: `attendees` are (survivor partner id, name), one per attending invitee;
    `received` maps a survivor id to its referrals' received_at times (any range)."""
    window_end = starts_at + timedelta(days=days)
    elapsed = max(0, min(days, (now - starts_at).days)) if now > starts_at else 0
    result = Attribution(days=days, window_start=starts_at, window_end=window_end,
                         elapsed_days=elapsed, cost=cost)
    counted: dict[int, list] = {}
    for partner_id, name in attendees:
        counted.setdefault(partner_id, [name, 0])[1] += 1
    year_before = starts_at - timedelta(days=BASELINE_DAYS)
    for partner_id, (name, people) in counted.items():
        times = received.get(partner_id, [])
        before = sum(1 for t in times if year_before < t <= starts_at)
        actual = sum(1 for t in times if starts_at < t <= min(window_end, now))
        baseline = (Decimal(before) * elapsed / BASELINE_DAYS).quantize(TWO, ROUND_HALF_UP)
        attributed = max(Decimal("0"), Decimal(actual) - baseline)
        result.rows.append(PartnerAttribution(
            partner_id=partner_id, name=name, attendees=people, before=before,
            baseline=baseline, actual=actual, attributed=attributed))
    result.rows.sort(key=lambda r: (-r.attributed, r.name))
    return result


def _survivors(partners: list[Partner]) -> dict[int, Partner]:
    """Each partner id -> its live survivor (itself when never merged), in few queries."""
    out: dict[int, Partner] = {}
    for partner in partners:
        current, hops = partner, 0
        while current.merged_into_id is not None and hops < 10:
            current = current.merged_into
            hops += 1
        out[partner.pk] = current
    return out


def _merged_ids(survivor_ids: set[int]) -> dict[int, int]:
    """Every partner id that was merged (directly or in a chain) into one of these -> the
    survivor, plus the survivors themselves."""
    owner = {pk: pk for pk in survivor_ids}
    frontier = set(survivor_ids)
    for _ in range(10):
        rows = list(Partner.objects.filter(merged_into_id__in=frontier)
                    .values_list("pk", "merged_into_id"))
        if not rows:
            break
        frontier = set()
        for pk, into in rows:
            if pk not in owner:
                owner[pk] = owner[into]
                frontier.add(pk)
    return owner


def event_attribution(event: Event, *, now: datetime | None = None) -> Attribution:
    return events_attribution([event], now=now)[event.pk]


def events_attribution(events: list[Event], *, now: datetime | None = None
                       ) -> dict[int, Attribution]:
    """Each event's attribution, in a fixed number of queries however many events (the
    events list shows 50): attendees of all of them, their merged partners, and the
    referrals of those partners over the span of every baseline and window."""
    now = now or timezone.now()
    if not events:
        return {}
    attending = list(Invitee.objects.filter(event__in=[e.pk for e in events], attended=True)
                     .select_related("partner__merged_into__merged_into").order_by("pk"))
    survivors = _survivors([i.partner for i in attending])
    attendees: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for invitee in attending:
        survivor = survivors[invitee.partner_id]
        attendees[invitee.event_id].append((survivor.pk, survivor.name))
    owner = _merged_ids({pk for rows in attendees.values() for pk, _ in rows})
    received: dict[int, list[datetime]] = defaultdict(list)
    if owner:
        counted = [e for e in events if e.pk in attendees]
        start = min(e.starts_at for e in counted) - timedelta(days=BASELINE_DAYS)
        end = max(e.starts_at + timedelta(days=e.attribution_days) for e in counted)
        for source, at in (Referral.objects
                           .filter(source_partner_id__in=list(owner), received_at__gt=start,
                                   received_at__lte=end)
                           .values_list("source_partner_id", "received_at")):
            received[owner[source]].append(at)
    return {event.pk: attribution_compute(
        starts_at=event.starts_at, days=event.attribution_days, cost=event.cost, now=now,
        attendees=attendees.get(event.pk, []), received=received) for event in events}


# --- Lists -------------------------------------------------------------------------------


def events_with_counts() -> QuerySet[Event]:
    return (Event.objects.select_related("owner", "location", "playbook")
            .annotate(n_invited=Count("invitees", distinct=True),
                      n_yes=Count("invitees", filter=Q(invitees__rsvp=Rsvp.YES),
                                  distinct=True),
                      n_attended=Count("invitees", filter=Q(invitees__attended=True),
                                       distinct=True),
                      n_sent=Count("invitees", filter=Q(invitees__message__isnull=False),
                                   distinct=True)))


def events_upcoming(now: datetime | None = None) -> QuerySet[Event]:
    now = now or timezone.now()
    return events_with_counts().filter(ends_at__gt=now).order_by("starts_at")


def events_past(now: datetime | None = None) -> QuerySet[Event]:
    now = now or timezone.now()
    return events_with_counts().filter(ends_at__lte=now).order_by("-starts_at")


def event_invitees(event: Event) -> QuerySet[Invitee]:
    return (Invitee.objects.filter(event=event)
            .select_related("partner", "contact", "message")
            .prefetch_related("partner__contacts")
            .order_by("partner__name", "contact__name", "id"))


def playbooks_for(category: str = "") -> QuerySet[Playbook]:
    qs = Playbook.objects.filter(is_active=True)
    return qs.filter(category=category) if category else qs


def partner_events(partner: Partner) -> list[Invitee]:
    """The events this partner (or a partner merged into it) was invited to, newest first."""
    ids = list(_merged_ids({partner.pk}))
    return list(Invitee.objects.filter(partner_id__in=ids).select_related("event", "contact")
                .order_by("-event__starts_at", "id"))
