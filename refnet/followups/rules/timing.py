"""When a follow-up is due and who gets it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property, lru_cache

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from refnet.practice.models import Location
from refnet.referrals.models import Referral

DUE_HOUR = time(17, 0)  # end of the practice's working day, local time


def add_business_days(day: date, days: int) -> date:
    """`days` working days after `day`; Saturday and Sunday do not count (a referral on
    Friday with 2 days is due Tuesday). 0 days: that day, or the Monday after a weekend."""
    if days == 0:
        return next_business_day(day)
    # From a Saturday, the first working day counted is Monday (as from a Friday).
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day


def next_business_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def due_on(day: date) -> datetime:
    """17:00 practice time (settings.TIME_ZONE) on that day, as an aware datetime."""
    return _due_on(day, timezone.get_default_timezone())


@lru_cache(maxsize=4096)
def _due_on(day: date, tz: tzinfo) -> datetime:
    # A full pass asks for the same few dozen days ~165,000 times.
    return timezone.make_aware(datetime.combine(day, DUE_HOUR), tz)


def local_date(value: datetime, tz: tzinfo | None = None) -> date:
    """timezone.localdate(value); pass tz (timezone.get_current_timezone(), read once) in
    loops: looking the current time zone up costs more than the conversion."""
    return value.astimezone(tz or timezone.get_current_timezone()).date()


def due_after(event_at: datetime, days: int, tz: tzinfo | None = None) -> datetime:
    """17:00 local, `days` business days after the local date of the event (tz: the
    current time zone, if the caller has read it already)."""
    return due_on(add_business_days(local_date(event_at, tz), days))


def short_date(day: date | datetime, tz: tzinfo | None = None) -> str:
    """'Nov 24' in practice time: what a summary shows."""
    if isinstance(day, datetime):
        day = local_date(day, tz)
    return f"{_MONTHS[day.month - 1]} {day.day}"


# What f"{day:%b}" gives in the C locale (strftime is the slow part of a summary).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Assigner:
    """Who gets a follow-up: the partner's owner, else the referral location's default
    assignee, else (partner-level) that of the location of the partner's latest referral,
    else the first active location's that has one, else nobody (managers see unassigned).

    A follow-up whose message names the patient (a thank-you, outcome update or progress
    report to a clinical partner) goes to the first of those who may see patients: an
    outreach owner could not open it. If none of them may, the first active coordinator,
    else manager, gets it. Locations and those users are few: read once per batch."""

    # Each read on first use: a referral's thank-you to a business, or an ask-again, needs
    # the locations alone (one query, not three, inside the intake's transaction).
    @cached_property
    def _locations(self) -> tuple[dict[int, int | None], int | None]:
        """(location -> default assignee, the first active location's by pk that has one)."""
        rows = list(Location.objects.order_by("pk")
                    .values_list("pk", "default_assignee_id", "is_active"))
        return ({pk: assignee for pk, assignee, _ in rows},
                next((assignee for _, assignee, active in rows
                      if active and assignee is not None), None))

    @cached_property
    def _users(self) -> tuple[set[int], int | None]:
        """(active users who may see patients, the first coordinator, else manager)."""
        from refnet.accounts.models import Role, User
        from refnet.accounts.permissions import CAPABILITIES, Cap

        allowed = CAPABILITIES[Cap.PATIENTS_VIEW]
        rows = list(User.objects.filter(is_active=True, role__in=allowed)
                    .order_by("pk").values_list("pk", "role"))
        return ({pk for pk, _ in rows},
                next((pk for role in (Role.COORDINATOR, Role.MANAGER)
                      for pk, r in rows if r == role), None))

    @property
    def location_assignee(self) -> dict[int, int | None]:
        return self._locations[0]

    @property
    def fallback(self) -> int | None:
        return self._locations[1]

    @property
    def sees_patients(self) -> set[int]:
        return self._users[0]

    @property
    def patient_fallback(self) -> int | None:
        return self._users[1]

    def for_referral(self, *, owner_id: int | None, location_id: int | None,
                     names_patient: bool = False) -> int | None:
        if not names_patient:
            return owner_id or self.location_assignee.get(location_id) or self.fallback
        if owner_id is not None and owner_id in self.sees_patients:
            return owner_id  # without reading the locations
        for candidate in (self.location_assignee.get(location_id), self.fallback):
            if candidate is not None and candidate in self.sees_patients:
                return candidate
        return self.patient_fallback

    def for_location(self, location_id: int | None) -> int | None:
        return self.location_assignee.get(location_id) or self.fallback


def latest_referral_locations(partner_ids: list[int]) -> dict[int, int]:
    """partner id -> location of their latest referral (one indexed lookup per partner,
    only for the partners that get a follow-up)."""
    from refnet.partners.models import Partner

    latest = (Referral.objects.filter(source_partner=OuterRef("pk"))
              .order_by("-received_at", "-id").values("location_id")[:1])
    found: dict[int, int] = {}
    for start in range(0, len(partner_ids), 2000):
        rows = (Partner.objects.filter(pk__in=partner_ids[start:start + 2000])
                .annotate(loc=Subquery(latest)).values_list("pk", "loc"))
        found.update({pk: loc for pk, loc in rows if loc is not None})
    return found
