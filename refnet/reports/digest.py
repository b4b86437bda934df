"""The scheduled digest: a weekly or monthly email to one person about their referral
network. What changed against the period before, a small chart, who to thank, who went
quiet, and whose follow-ups are overdue.

`refnet worker` calls digests_tick(now) every tick. How a tick runs:
1. One query over the (one row per user) subscription table finds the subscriptions whose
   latest period ended (weekly: Monday 07:00 practice time, for the previous Monday to
   Sunday; monthly: the 1st at 07:00, for the previous month) and was not sent yet. When
   nothing is due, that query is all a tick costs.
2. For each: lock the row, check again (another worker may have sent it), build the
   digest, queue one email through the outbox and record last_period_end, in one
   transaction. A worker that was down for weeks sends only the latest period.

Managers and admins get the whole practice; everyone else gets the partners they own and
the follow-ups assigned to them or about their partners. Digests carry no patient names:
follow-up summaries never hold one (followups.models), and a partner who is a patient
referrer is shown as "a patient referrer" (their name is a patient's name).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from refnet.accounts.models import Role, User
from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind
from refnet.partners.models import PartnerKind
from refnet.referrals.models import Referral
from refnet.reports.models import DigestFrequency, DigestSubscription, MonthlyReferralStat

log = logging.getLogger("refnet.digest")

SEND_HOUR = 7  # practice-local: the digest is waiting when the week starts
CHART_PERIODS = 12
LIST_LIMIT = 15  # per list; the rest is "and N more" with a link to the app
PRACTICE_WIDE_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
PATIENT_REFERRER_LABEL = "a patient referrer"
OFF = "off"


# ---- periods ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    frequency: str
    start: date  # inclusive, practice-local
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.frequency == DigestFrequency.MONTHLY:
            return f"{self.start:%B %Y}"
        same_year = self.start.year == self.end.year
        return (f"week of {self.start:%b} {self.start.day}"
                f"{'' if same_year else f', {self.start.year}'} to "
                f"{self.end:%b} {self.end.day}, {self.end.year}")

    def previous(self) -> Period:
        return period_containing(self.frequency, self.start - timedelta(days=1))

    def sends_at(self) -> datetime:
        """When this period's digest goes out: 07:00 local on the day after it ends."""
        return local_at(self.end + timedelta(days=1))


def local_at(day: date, hour: int = SEND_HOUR) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def period_containing(frequency: str, day: date) -> Period:
    if frequency == DigestFrequency.MONTHLY:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period(frequency, start, end)
    start = day - timedelta(days=day.weekday())
    return Period(frequency, start, start + timedelta(days=6))


def period_due(frequency: str, now: datetime) -> Period:
    """The latest period whose digest time has passed at `now`."""
    local = timezone.localtime(now)
    # Before 07:00 on a period's first day, the period before the previous one is latest.
    day = local.date() if local.hour >= SEND_HOUR else local.date() - timedelta(days=1)
    return period_containing(frequency, day).previous()


def period_next(frequency: str, now: datetime) -> Period:
    """The period the next digest will cover (the one in progress): for the preview."""
    return period_containing(frequency, period_due(frequency, now).end + timedelta(days=1))


def _bounds(period: Period) -> tuple[datetime, datetime]:
    """[start, end) as aware datetimes at local midnight."""
    return (timezone.make_aware(datetime.combine(period.start, time.min)),
            timezone.make_aware(datetime.combine(period.end + timedelta(days=1), time.min)))


# ---- building --------------------------------------------------------------------------

@dataclass
class Change:
    label: str
    current: int
    previous: int

    @property
    def delta(self) -> int:
        return self.current - self.previous

    @property
    def pct(self) -> float | None:
        """Percent change; None when there was nothing before (no meaningful ratio)."""
        if not self.previous:
            return None
        return round(100 * (self.current - self.previous) / self.previous, 1)

    @property
    def pct_text(self) -> str:
        if self.pct is None:
            return "new" if self.current else "no change"
        return f"{self.pct:+.0f}%" if self.pct else "no change"


@dataclass
class Named:
    name: str
    count: int = 1
    detail: str = ""


@dataclass
class Digest:
    user: User
    period: Period
    practice_wide: bool
    changes: list[Change]
    chart: object  # reports.charts.ChartSpec
    to_thank: list[Named]
    to_thank_more: int
    quiet: list[Named]
    quiet_more: int
    overdue: list[Named]
    overdue_total: int
    links: dict[str, str] = field(default_factory=dict)

    @property
    def scope_text(self) -> str:
        return "the whole practice" if self.practice_wide else "the partners you own"

    @property
    def subject(self) -> str:
        received = self.changes[0]
        return (f"Referral digest, {self.period.label}: {received.current} referrals "
                f"({received.pct_text})")


def is_practice_wide(user: User) -> bool:
    return user.role in PRACTICE_WIDE_ROLES


def _referrals(user: User, practice_wide: bool) -> QuerySet[Referral]:
    qs = Referral.objects.all()
    return qs if practice_wide else qs.filter(source_partner__owner=user)


def _followups(user: User, practice_wide: bool) -> QuerySet[FollowUp]:
    qs = FollowUp.objects.filter(status=FollowUpStatus.OPEN)
    if practice_wide:
        return qs
    return qs.filter(Q(assignee=user) | Q(partner__owner=user))


def _changes(user: User, practice_wide: bool, period: Period) -> list[Change]:
    """Referrals received and distinct referring partners, this period and the one before,
    in one aggregate over the two periods' referrals (the received_at index)."""
    before_start, _ = _bounds(period.previous())
    start, end = _bounds(period)
    figures = _referrals(user, practice_wide).filter(
        received_at__gte=before_start, received_at__lt=end,
    ).aggregate(
        received=Count("id", filter=Q(received_at__gte=start)),
        received_before=Count("id", filter=Q(received_at__lt=start)),
        referrers=Count("source_partner", distinct=True, filter=Q(received_at__gte=start)),
        referrers_before=Count("source_partner", distinct=True,
                               filter=Q(received_at__lt=start)),
    )
    return [Change("Referrals received", figures["received"], figures["received_before"]),
            Change("Partners who referred", figures["referrers"],
                   figures["referrers_before"])]


def _chart(user: User, practice_wide: bool, period: Period):
    """Referrals received in the last 12 weeks or months, ending with this period.
    Months read the monthly rollup; weeks one aggregate of 12 filtered counts."""
    from refnet.reports.charts import ChartSpec, Series

    periods = [period]
    while len(periods) < CHART_PERIODS:
        periods.append(periods[-1].previous())
    periods.reverse()
    if period.frequency == DigestFrequency.MONTHLY:
        keys = [p.start.year * 100 + p.start.month for p in periods]
        stats = MonthlyReferralStat.objects.filter(month__in=keys)
        if not practice_wide:
            stats = stats.filter(owner_id=user.pk)
        by_month = dict(stats.values_list("month").annotate(n=Sum("received")))
        values = [int(by_month.get(k) or 0) for k in keys]
        labels = [f"{p.start:%b}" for p in periods]
        title = "Referrals received, last 12 months"
    else:
        first, _ = _bounds(periods[0])
        _, last = _bounds(periods[-1])
        counts = {}
        for i, p in enumerate(periods):
            lo, hi = _bounds(p)
            counts[f"w{i}"] = Count("id", filter=Q(received_at__gte=lo, received_at__lt=hi))
        figures = _referrals(user, practice_wide).filter(
            received_at__gte=first, received_at__lt=last).aggregate(**counts)
        values = [figures[f"w{i}"] for i in range(len(periods))]
        labels = [f"{p.start:%b} {p.start.day}" for p in periods]
        title = "Referrals received, last 12 weeks"
    return ChartSpec(kind="bar", title=title, labels=labels,
                     series=[Series(name="Referrals", values=values)], unit="referrals")


def partner_label(name: str, kind: str) -> str:
    """A partner's name as a digest may show it: a patient referrer's name is a patient's."""
    return PATIENT_REFERRER_LABEL if kind == PartnerKind.PATIENT_REFERRER else name


def _to_thank(followups: QuerySet[FollowUp]) -> tuple[list[Named], int]:
    """Partners with open thank-you follow-ups, most first: names only, never the patient."""
    rows = list(followups.filter(kind=RuleKind.THANK_REFERRER, partner__isnull=False)
                .values("partner_id", "partner__name", "partner__kind")
                .annotate(n=Count("id")).order_by("-n", "partner__name"))
    named = [Named(partner_label(r["partner__name"], r["partner__kind"]), r["n"])
             for r in rows[:LIST_LIMIT]]
    return named, max(0, len(rows) - LIST_LIMIT)


def _quiet(followups: QuerySet[FollowUp]) -> tuple[list[Named], int]:
    qs = (followups.filter(kind=RuleKind.REENGAGE)
          .select_related("partner").order_by("due_at", "id"))
    total = qs.count()
    named = []
    for f in qs[:LIST_LIMIT]:
        name, summary = (f.partner.name, f.summary) if f.partner else ("", f.summary)
        if f.partner and f.partner.kind == PartnerKind.PATIENT_REFERRER:
            summary = summary.replace(f.partner.name, PATIENT_REFERRER_LABEL)
            name = PATIENT_REFERRER_LABEL
        named.append(Named(name, 1, summary))
    return named, max(0, total - LIST_LIMIT)


def _overdue(followups: QuerySet[FollowUp], now: datetime) -> tuple[list[Named], int]:
    rows = list(followups.filter(due_at__lt=now)
                .values("assignee_id", "assignee__first_name", "assignee__last_name",
                        "assignee__username")
                .annotate(n=Count("id")))
    # Most overdue first, "Unassigned" after the people with as many (the same order on
    # every database, which place NULLs differently); one row per owner, so a short list.
    rows.sort(key=lambda r: (-r["n"], r["assignee_id"] is None, r["assignee__username"] or ""))
    named = []
    for r in rows:
        if r["assignee_id"] is None:
            who = "Unassigned"
        else:
            who = (f"{r['assignee__first_name']} {r['assignee__last_name']}".strip()
                   or r["assignee__username"])
        named.append(Named(who, r["n"]))
    return named, sum(r["n"] for r in rows)


def _app_url(name: str) -> str:
    return settings.REFNET_BASE_URL.rstrip("/") + reverse(name)


def digest_build(*, user: User, period: Period, now: datetime | None = None) -> Digest:
    """The digest for this user and period; overdue and open lists as of `now`."""
    now = now or timezone.now()
    practice_wide = is_practice_wide(user)
    followups = _followups(user, practice_wide)
    to_thank, to_thank_more = _to_thank(followups)
    quiet, quiet_more = _quiet(followups)
    overdue, overdue_total = _overdue(followups, now)
    links = {"inbox": _app_url("followups:inbox"), "settings": _app_url("reports:digest")}
    try:
        links["dashboard"] = _app_url("reports:dashboard")
    except NoReverseMatch:  # the dashboard is another part's: its path is the contract
        links["dashboard"] = settings.REFNET_BASE_URL.rstrip("/") + "/reports/"
    return Digest(
        user=user, period=period, practice_wide=practice_wide,
        changes=_changes(user, practice_wide, period),
        chart=_chart(user, practice_wide, period),
        to_thank=to_thank, to_thank_more=to_thank_more, quiet=quiet, quiet_more=quiet_more,
        overdue=overdue, overdue_total=overdue_total, links=links,
    )


def digest_text(digest: Digest) -> str:
    """The plain-text part: the same facts as the HTML, the chart as a number per period."""
    lines = [f"Your referral digest for the {digest.period.label}",
             f"({digest.scope_text}; {settings.REFNET_PRACTICE_NAME})", "",
             "WHAT CHANGED (against the period before)"]
    for c in digest.changes:
        lines.append(f"- {c.label}: {c.current} (before: {c.previous}, {c.pct_text})")
    lines += ["", digest.chart.title.upper()]
    for label, value in zip(digest.chart.labels, digest.chart.series[0].values, strict=True):
        lines.append(f"  {label:>7}  {value}")
    lines += ["", "WHO TO THANK"]
    lines += [f"- {n.name} ({n.count})" for n in digest.to_thank] or ["- Nobody is waiting "
                                                                     "for a thank-you."]
    if digest.to_thank_more:
        lines.append(f"- and {digest.to_thank_more} more")
    lines += ["", "WHO WENT QUIET"]
    lines += [f"- {n.detail}" for n in digest.quiet] or ["- No partner went quiet."]
    if digest.quiet_more:
        lines.append(f"- and {digest.quiet_more} more")
    lines += ["", "OVERDUE FOLLOW-UPS BY OWNER"]
    lines += [f"- {n.name}: {n.count}" for n in digest.overdue] or ["- Nothing is overdue."]
    lines += ["", f"Your follow-ups: {digest.links['inbox']}",
              f"The dashboard: {digest.links['dashboard']}",
              f"Change or stop this digest: {digest.links['settings']}"]
    return "\n".join(lines) + "\n"


def digest_html(digest: Digest, *, standalone: bool = True) -> str:
    """The HTML part (inline styles, a table-based chart: what mail clients show).
    standalone=False gives the fragment the settings page previews."""
    from refnet.reports.charts import chart_html

    context = {"digest": digest, "chart": chart_html(digest.chart),
               "practice_name": settings.REFNET_PRACTICE_NAME}
    body = render_to_string("reports/digest_email_body.html", context)
    if not standalone:
        return body
    return render_to_string("reports/digest_email.html", {**context, "body": body})


# ---- sending ---------------------------------------------------------------------------

def _due_subscriptions(now: datetime) -> QuerySet[DigestSubscription]:
    weekly = period_due(DigestFrequency.WEEKLY, now).end
    monthly = period_due(DigestFrequency.MONTHLY, now).end
    not_sent = (
        (Q(frequency=DigestFrequency.WEEKLY)
         & (Q(last_period_end__isnull=True) | Q(last_period_end__lt=weekly)))
        | (Q(frequency=DigestFrequency.MONTHLY)
           & (Q(last_period_end__isnull=True) | Q(last_period_end__lt=monthly)))
    )
    # Users without an email cannot receive one; leaving them out keeps idle ticks idle.
    return (DigestSubscription.objects.filter(not_sent, is_active=True, user__is_active=True)
            .exclude(user__email=""))


def digest_send(*, subscription: DigestSubscription, now: datetime) -> bool:
    """Queue this subscription's due digest, if it still is; True when one was queued.
    One transaction: the email and last_period_end commit together or not at all."""
    from refnet.outbox.services import message_enqueue

    with transaction.atomic():
        sub = (DigestSubscription.objects.select_for_update().select_related("user")
               .filter(pk=subscription.pk).first())
        if sub is None or not sub.is_active or not sub.user.email:
            return False
        period = period_due(sub.frequency, now)
        if sub.last_period_end is not None and sub.last_period_end >= period.end:
            return False  # another worker sent it
        digest = digest_build(user=sub.user, period=period, now=now)
        queued = True
        try:
            message_enqueue(
                channel="email", purpose="digest", audience="staff", partner=None,
                to_name=sub.user.get_full_name() or sub.user.username,
                to_address=sub.user.email, subject=digest.subject,
                body_text=digest_text(digest), body_html=digest_html(digest),
                names_patient=False, by=None,
                dedupe_key=f"digest:{sub.user.pk}:{period.end.isoformat()}",
            )
        except ValidationError as exc:
            # An address that opted out: retrying every tick would not change that.
            log.warning("digest for %s not queued: %s", sub.user, exc)
            queued = False
        sub.last_period_end = period.end
        sub.save(update_fields=["last_period_end", "updated_at"])
    return queued


def digests_tick(now: datetime | None = None) -> dict[str, int]:
    """Queue every digest that is due; {"digests": n} (empty counts when nothing was)."""
    now = now or timezone.now()
    sent = 0
    for subscription in list(_due_subscriptions(now)):
        try:
            sent += digest_send(subscription=subscription, now=now)
        except Exception:
            # One user's broken digest must not hold back everyone else's.
            log.exception("digest for subscription %s failed; will try again next tick",
                          subscription.pk)
    return {"digests": sent}


# ---- settings --------------------------------------------------------------------------

def digest_subscription_set(*, user: User, frequency: str,
                            now: datetime | None = None) -> DigestSubscription:
    """weekly, monthly or off. A new or changed subscription starts with the next period:
    choosing weekly on a Wednesday does not send last week's digest at once."""
    if frequency not in (*DigestFrequency.values, OFF):
        raise ValidationError({"frequency": f"{frequency!r} is not a digest frequency; "
                                            "choose weekly, monthly or off."})
    now = now or timezone.now()
    with transaction.atomic():
        sub = DigestSubscription.objects.select_for_update().filter(user=user).first()
        if frequency == OFF:
            if sub is not None and sub.is_active:
                sub.is_active = False
                sub.save(update_fields=["is_active", "updated_at"])
            return sub or DigestSubscription(user=user, is_active=False)
        if sub is None:
            sub = DigestSubscription(user=user)
        if sub.pk is None or not sub.is_active or sub.frequency != frequency:
            sub.frequency = frequency
            sub.is_active = True
            sub.last_period_end = period_due(frequency, now).end
            sub.save()
    return sub


def digest_frequency(user: User) -> str:
    """weekly, monthly or off: what the settings page shows as chosen."""
    sub = DigestSubscription.objects.filter(user=user).first()
    return sub.frequency if sub is not None and sub.is_active else OFF
