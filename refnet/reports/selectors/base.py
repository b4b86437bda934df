"""What every report shares: the filter, the table it returns, periods and their buckets,
and the filtered querysets over referrals and over the monthly rollup.

Dates are practice-local (settings.TIME_ZONE): a period's day boundaries become aware
datetimes at local midnight, so a referral at 23:30 on January 31 in New York is January's
even though it is February in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from refnet.accounts.permissions import Cap, has_cap
from refnet.referrals.models import Referral
from refnet.reports.charts import ChartSpec
from refnet.reports.models import (
    MonthlyPartnerStat,
    MonthlyPartnerTotal,
    MonthlyReferralStat,
    MonthlyZipStat,
)

GRANULARITIES = ("day", "week", "month", "quarter")
# A chart or table of more buckets than this is unreadable; ask for a coarser granularity.
MAX_BUCKETS = 400
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ReportFilter:
    start: date  # inclusive, practice-local
    end: date  # inclusive, practice-local
    granularity: str = "month"
    location_ids: tuple[int, ...] = ()
    service_line_ids: tuple[int, ...] = ()
    partner_kinds: tuple[str, ...] = ()
    partner_categories: tuple[str, ...] = ()
    owner_ids: tuple[int, ...] = ()  # the source partner's owner

    def __post_init__(self) -> None:
        if not isinstance(self.start, date) or not isinstance(self.end, date):
            raise ValidationError({"start": "Give the period as two dates (YYYY-MM-DD)."})
        if self.end < self.start:
            raise ValidationError({"end": "The end of the period is before its start."})
        if self.granularity not in GRANULARITIES:
            raise ValidationError({"granularity": f"Choose one of {', '.join(GRANULARITIES)}."})
        if len(buckets(self)) > MAX_BUCKETS:
            raise ValidationError({"granularity": f"More than {MAX_BUCKETS} {self.granularity}s"
                                   " in this period: choose a coarser granularity."})

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportFilter:
        """The equal period just before this one (same filters)."""
        return replace(self, start=self.start - timedelta(days=self.days),
                       end=self.start - timedelta(days=1))

    def whole_months(self) -> bool:
        """True when the period starts on a 1st and ends on a month's last day: then the
        monthly rollup answers exactly."""
        return self.start.day == 1 and (self.end + timedelta(days=1)).day == 1

    def describe(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}, by {self.granularity}"


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | pct | days | link

    def format(self, value: Any) -> str:
        """How the value reads on screen, in CSV and in the PDF."""
        if value is None or value == "":
            return "" if self.kind in ("text", "link") else "\u2014"
        if self.kind == "int":
            return f"{int(value):,}"
        if self.kind == "pct":
            return f"{value * 100:.1f}%"
        if self.kind == "days":
            return f"{value:.1f}"
        return str(value)


@dataclass
class ReportTable:
    title: str
    columns: list[Column]
    rows: list[dict]
    chart: ChartSpec | None
    totals: dict | None = None
    note: str = ""
    # A row may carry "_links": {column key: url} to the rows behind a number.
    # Rows may carry "_section" (e.g. "Distance band", "ZIP code") to group them.
    filters: ReportFilter | None = field(default=None, repr=False)


# -- periods ---------------------------------------------------------------------------------

def local_start(d: date) -> datetime:
    """Local midnight at the start of `d`, as an aware datetime."""
    return timezone.make_aware(datetime.combine(d, time.min))


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start of `start`, start of the day after `end`) as aware datetimes."""
    return local_start(start), local_start(end + timedelta(days=1))


def month_key(d: date) -> int:
    return d.year * 100 + d.month


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def bucket_of(d: date, granularity: str) -> date:
    """The first day of the bucket that holds `d`."""
    if granularity == "day":
        return d
    if granularity == "week":
        return d - timedelta(days=d.weekday())  # weeks start on Monday
    if granularity == "month":
        return d.replace(day=1)
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)


def _bucket_after(b: date, granularity: str) -> date:
    if granularity == "day":
        return b + timedelta(days=1)
    if granularity == "week":
        return b + timedelta(days=7)
    nxt = _next_month(b)
    if granularity == "quarter":
        nxt = _next_month(_next_month(nxt))
    return nxt


@dataclass(frozen=True)
class Bucket:
    key: date  # first day of the bucket (may be before the period's start)
    start: date  # clamped to the period
    end: date
    label: str


def buckets(f: ReportFilter) -> list[Bucket]:
    """Every bucket of the period, empty ones included, oldest first."""
    out: list[Bucket] = []
    b = bucket_of(f.start, f.granularity)
    while b <= f.end and len(out) <= MAX_BUCKETS:
        nxt = _bucket_after(b, f.granularity)
        out.append(Bucket(key=b, start=max(b, f.start), end=min(nxt - timedelta(days=1), f.end),
                          label=bucket_label(b, f.granularity)))
        b = nxt
    return out


def bucket_label(b: date, granularity: str) -> str:
    if granularity == "day":
        return f"{b:%Y-%m-%d}"
    if granularity == "week":
        return f"Wk {b:%Y-%m-%d}"
    if granularity == "month":
        return f"{MONTH_ABBR[b.month - 1]} {b.year}"
    return f"{b.year} Q{(b.month - 1) // 3 + 1}"


# -- querysets -------------------------------------------------------------------------------

def referrals_in(f: ReportFilter, *, start: date | None = None, end: date | None = None
                 ) -> QuerySet[Referral]:
    """Referrals received in the period (or [start, end]) matching the filters. Partner
    filters read the source partner as it is now (after merges, its current owner)."""
    lo, hi = period_bounds(start or f.start, end or f.end)
    qs = Referral.objects.filter(received_at__gte=lo, received_at__lt=hi)
    return apply_referral_filters(qs, f)


def apply_referral_filters(qs: QuerySet, f: ReportFilter, prefix: str = "") -> QuerySet:
    if f.location_ids:
        qs = qs.filter(**{f"{prefix}location_id__in": f.location_ids})
    if f.service_line_ids:
        qs = qs.filter(**{f"{prefix}service_line_id__in": f.service_line_ids})
    if f.partner_kinds:
        qs = qs.filter(**{f"{prefix}source_partner__kind__in": f.partner_kinds})
    if f.partner_categories:
        qs = qs.filter(**{f"{prefix}source_partner__category__in": f.partner_categories})
    if f.owner_ids:
        qs = qs.filter(**{f"{prefix}source_partner__owner_id__in": f.owner_ids})
    return qs.order_by()


def stats_in(f: ReportFilter, months: tuple[int, int] | None = None
             ) -> QuerySet[MonthlyReferralStat]:
    """Rollup rows for the months the period touches (or `months`, YYYYMM inclusive),
    matching the filters (their dimensions are the same: location, service line, the
    partner's kind, category, owner)."""
    lo, hi = months or (month_key(f.start), month_key(f.end))
    qs = MonthlyReferralStat.objects.filter(month__gte=lo, month__lte=hi)
    if f.location_ids:
        qs = qs.filter(location_id__in=f.location_ids)
    if f.service_line_ids:
        qs = qs.filter(service_line_id__in=f.service_line_ids)
    if f.partner_kinds:
        qs = qs.filter(partner_kind__in=f.partner_kinds)
    if f.partner_categories:
        qs = qs.filter(partner_category__in=f.partner_categories)
    if f.owner_ids:
        qs = qs.filter(owner_id__in=f.owner_ids)
    return qs.order_by()


def partner_rollup_applies(f: ReportFilter) -> bool:
    """Whether the per-partner rollup answers this filter exactly: whole months, and no
    service-line filter (that rollup has no service-line dimension)."""
    return f.whole_months() and not f.service_line_ids


def _partner_dims(f: ReportFilter) -> dict[str, Any]:
    from refnet.partners.models import Partner

    if not (f.partner_kinds or f.partner_categories or f.owner_ids):
        return {}
    partners = Partner.objects.all()
    if f.partner_kinds:
        partners = partners.filter(kind__in=f.partner_kinds)
    if f.partner_categories:
        partners = partners.filter(category__in=f.partner_categories)
    if f.owner_ids:
        partners = partners.filter(owner_id__in=f.owner_ids)
    return {"partner_id__in": partners.values("pk")}


def partner_rollup_model(f: ReportFilter) -> type[MonthlyPartnerStat | MonthlyPartnerTotal]:
    """The per-partner rollup to read: by location only when the filter names locations
    (MonthlyPartnerTotal, all locations summed, has a third fewer rows per month)."""
    return MonthlyPartnerStat if f.location_ids else MonthlyPartnerTotal


def partner_stats_in(f: ReportFilter) -> QuerySet[MonthlyPartnerStat | MonthlyPartnerTotal]:
    """Per-partner rollup rows for the period's months matching the filters; the partner's
    kind, category and owner are read from the partner as it is now (a subquery), the same
    as referrals_in does. Only when partner_rollup_applies(f)."""
    qs = partner_rollup_model(f).objects.filter(month__gte=month_key(f.start),
                                                month__lte=month_key(f.end), **_partner_dims(f))
    if f.location_ids:
        qs = qs.filter(location_id__in=f.location_ids)
    return qs.order_by()


def dims_rollup_applies(f: ReportFilter) -> bool:
    """Whether a rollup keyed by month, location and the partner's kind, category and
    owner (ZIP counts, speed histograms) answers this filter: whole months, no service
    line filter."""
    return f.whole_months() and not f.service_line_ids


def dims_filtered(qs: QuerySet, f: ReportFilter, months: tuple[int, int] | None = None
                  ) -> QuerySet:
    lo, hi = months or (month_key(f.start), month_key(f.end))
    qs = qs.filter(month__gte=lo, month__lte=hi)
    if f.location_ids:
        qs = qs.filter(location_id__in=f.location_ids)
    if f.partner_kinds:
        qs = qs.filter(partner_kind__in=f.partner_kinds)
    if f.partner_categories:
        qs = qs.filter(partner_category__in=f.partner_categories)
    if f.owner_ids:
        qs = qs.filter(owner_id__in=f.owner_ids)
    return qs.order_by()


def zip_stats_in(f: ReportFilter, months: tuple[int, int] | None = None
                 ) -> QuerySet[MonthlyZipStat]:
    return dims_filtered(MonthlyZipStat.objects.all(), f, months)


# -- links and small helpers -----------------------------------------------------------------

def may_see_rows(user: Any) -> bool:
    """Links to the referral list (patient-level rows) only for roles that may open it;
    outreach gets the aggregates alone."""
    return user is not None and has_cap(user, Cap.REFERRALS_VIEW)


@lru_cache(maxsize=8)
def _referral_list_path(script_prefix: str) -> str:
    return reverse("referrals:list")


def referral_list_url(start: date, end: date, **params: Any) -> str:
    # A report links most of its rows (hundreds): reverse() once, not once a row.
    query = {k: v for k, v in params.items() if v not in (None, "")}
    query.update(received_from=f"{start:%Y-%m-%d}", received_to=f"{end:%Y-%m-%d}")
    return f"{_referral_list_path(get_script_prefix())}?{urlencode(query)}"


def base_params(f: ReportFilter) -> dict[str, Any]:
    """The filters the referral list understands (one location / service line only)."""
    params: dict[str, Any] = {}
    if len(f.location_ids) == 1:
        params["location"] = f.location_ids[0]
    if len(f.service_line_ids) == 1:
        params["service_line"] = f.service_line_ids[0]
    return params


def list_exact(f: ReportFilter) -> bool:
    """Whether the referral list can show exactly the rows behind a number: it has no
    partner kind, category or owner filter, nor several locations at once."""
    return (not f.partner_kinds and not f.partner_categories and not f.owner_ids
            and len(f.location_ids) <= 1 and len(f.service_line_ids) <= 1)


def rate(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole if whole else None


def user_label(user: Any) -> str:
    if user is None:
        return "(no owner)"
    return user.get_full_name() or user.username
