"""Reads for the FHIR endpoints: referrals with what their resources show, and the
search parameters ServiceRequest and Task support."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from refnet.referrals.models import Referral

from .mapping import (
    ENTERED_IN_ERROR,
    NO_SHOW_TASK,
    NPI_SYSTEM,
    PARTNER_SYSTEM,
    SR_STATUS_OF,
    SR_STATUSES,
    TASK_STATUS_OF,
    TASK_STATUSES,
    is_db_id,
)
from .outcome import FhirError, Issue

DEFAULT_COUNT, MAX_COUNT = 50, 200
COMMON_PARAMS = {"_count", "_offset", "_format", "_lastUpdated"}
SERVICE_REQUEST_PARAMS = COMMON_PARAMS | {"patient", "status", "requester",
                                          "requester:identifier", "identifier"}
TASK_PARAMS = COMMON_PARAMS | {"focus", "status"}


def fhir_referrals(*, removed_too: bool = False) -> QuerySet[Referral]:
    """Referrals as FHIR shows them. Searches and exports leave removed ones out unless
    they ask for status entered-in-error; a read by id finds them (removed_too)."""
    return ((Referral.all_objects if removed_too else Referral.objects)
            .select_related("patient", "source_partner__organization", "service_line",
                            "location")
            .prefetch_related("identifiers", "patient__identifiers")
            .order_by("-received_at", "-id"))


def refuse(param: str, message: str) -> FhirError:
    return FhirError(400, [Issue(f"Search parameter {param}: {message}", code="invalid")])


@dataclass
class Page:
    count: int
    offset: int


def page_from(params) -> Page:
    values = {}
    for name, default, top in (("_count", DEFAULT_COUNT, MAX_COUNT), ("_offset", 0, 10**7)):
        raw = params.get(name, "")
        if raw == "":
            values[name] = default
            continue
        if not raw.isdigit() or len(raw) > 8:
            raise refuse(name, "must be a whole number.")
        values[name] = min(int(raw), top)
    return Page(values["_count"], values["_offset"])


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


_PREFIXED = re.compile(r"^(eq|ge|gt|le|lt)?(.+)$")


def last_updated_filter(values: list[str]) -> Q:
    """_lastUpdated=[eq|ge|gt|le|lt]<date or dateTime>, repeatable (a range). Dates are
    practice-local days; the field is when the referral last changed status."""
    q = Q()
    for raw in values:
        match = _PREFIXED.match(raw.strip())
        prefix, value = (match.group(1) or "eq", match.group(2)) if match else ("eq", "")
        moment: datetime | None = None
        day: date | None = None
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                day = date.fromisoformat(value)
            else:
                moment = parse_datetime(value)
        except ValueError:
            moment = None
        if day is None and (moment is None or timezone.is_naive(moment)):
            raise refuse("_lastUpdated", f"{raw!r:.60} is not a date (2026-01-31) or a "
                                         "dateTime with a time zone, with an optional "
                                         "prefix eq, ge, gt, le or lt.")
        field = "status_changed_at"
        if day is not None:
            start, end = _day_start(day), _day_start(day + timedelta(days=1))
            q &= {"eq": Q(**{f"{field}__gte": start, f"{field}__lt": end}),
                  "ge": Q(**{f"{field}__gte": start}), "gt": Q(**{f"{field}__gte": end}),
                  "le": Q(**{f"{field}__lt": end}), "lt": Q(**{f"{field}__lt": start})}[prefix]
        else:
            lookup = {"eq": "", "ge": "__gte", "gt": "__gt", "le": "__lte", "lt": "__lt"}
            q &= Q(**{f"{field}{lookup[prefix]}": moment})
    return q


def _reference_id(param: str, raw: str, kinds: tuple[str, ...]) -> int:
    value = raw.strip()
    for kind in kinds:
        if value.startswith(kind + "/"):
            value = value[len(kind) + 1:]
            break
    if not is_db_id(value):
        raise refuse(param, f"expected {' or '.join(k + '/<id>' for k in kinds)}, got "
                            f"{raw!r:.60}.")
    return int(value)


def _check_params(params, allowed: set[str]) -> None:
    unknown = sorted(set(params.keys()) - allowed)
    if unknown:
        raise refuse(unknown[0], "not supported here; supported: "
                                 f"{', '.join(sorted(allowed))}.")


def _asks_entered_in_error(params) -> bool:
    """Removed referrals appear in a search only when it asks for them by status."""
    return any(ENTERED_IN_ERROR in raw.split(",") for raw in params.getlist("status"))


def service_request_search(params) -> QuerySet[Referral]:
    """The referrals a ServiceRequest search names (values within one parameter are OR)."""
    _check_params(params, SERVICE_REQUEST_PARAMS)
    rows = fhir_referrals(removed_too=True)
    if not _asks_entered_in_error(params):
        rows = rows.filter(removed_at__isnull=True)
    for raw in params.getlist("patient"):
        ids = [_reference_id("patient", v, ("Patient",)) for v in raw.split(",")]
        rows = rows.filter(patient_id__in=ids)
    for raw in params.getlist("status"):
        statuses = []
        for code in raw.split(","):
            if code not in SR_STATUSES:
                raise refuse("status", f"unknown code {code!r:.40}; expected one of "
                                       f"{', '.join(SR_STATUSES)}.")
            statuses += [ours for ours, theirs in SR_STATUS_OF.items() if theirs == code]
        cond = Q(status__in=statuses, removed_at__isnull=True)
        if ENTERED_IN_ERROR in raw.split(","):
            cond |= Q(removed_at__isnull=False)
        rows = rows.filter(cond)
    for raw in params.getlist("requester"):
        ids = [_reference_id("requester", v, ("Practitioner", "Organization",
                                                "PractitionerRole")) for v in raw.split(",")]
        rows = rows.filter(source_partner_id__in=ids)
    for raw in params.getlist("requester:identifier"):
        system, bar, value = raw.partition("|")
        if not bar or system not in (NPI_SYSTEM, PARTNER_SYSTEM) or not value:
            raise refuse("requester:identifier", f"expected {NPI_SYSTEM}|<NPI>.")
        rows = rows.filter(source_partner__npi=value) if system == NPI_SYSTEM else (
            rows.filter(source_partner_id=_reference_id("requester:identifier", value, ())))
    for raw in params.getlist("identifier"):
        system, bar, value = raw.partition("|")
        if not bar:
            system, value = "", raw
        cond = Q(identifiers__value=value)
        if bar:
            cond &= Q(identifiers__system=system)
        rows = rows.filter(pk__in=Referral.objects.filter(cond).values("pk"))
    if params.getlist("_lastUpdated"):
        rows = rows.filter(last_updated_filter(params.getlist("_lastUpdated")))
    return rows


# Task.status -> the referrals showing it (see mapping.TASK_STATUS_OF).
_TASK_STATUS_ROWS = {
    task: Q(status__in=[ours for ours, (t, _) in TASK_STATUS_OF.items() if t == task])
    for task in {t for t, _ in TASK_STATUS_OF.values()}
}
_TASK_STATUS_ROWS["rejected"] = Q(status="closed_lost") & ~Q(outcome="no_show")
_TASK_STATUS_ROWS[NO_SHOW_TASK[0]] = Q(status="closed_lost", outcome="no_show")


def task_search(params) -> QuerySet[Referral]:
    """The referrals whose Tasks a Task search names."""
    _check_params(params, TASK_PARAMS)
    rows = fhir_referrals(removed_too=True)
    if not _asks_entered_in_error(params):
        rows = rows.filter(removed_at__isnull=True)
    for raw in params.getlist("focus"):
        ids = [_reference_id("focus", v, ("ServiceRequest",)) for v in raw.split(",")]
        rows = rows.filter(pk__in=ids)
    for raw in params.getlist("status"):
        cond = Q(pk__in=[])
        for code in raw.split(","):
            if code not in TASK_STATUSES:
                raise refuse("status", f"unknown code {code!r:.40}; expected one of "
                                       f"{', '.join(TASK_STATUSES)}.")
            if code == ENTERED_IN_ERROR:
                cond |= Q(removed_at__isnull=False)
            elif code in _TASK_STATUS_ROWS:
                cond |= _TASK_STATUS_ROWS[code] & Q(removed_at__isnull=True)
        rows = rows.filter(cond)
    if params.getlist("_lastUpdated"):
        rows = rows.filter(last_updated_filter(params.getlist("_lastUpdated")))
    return rows


def period_from(params) -> tuple[datetime, datetime]:
    """start and end (practice-local dates, both inclusive) as [start, end) moments."""
    _check_params(params, {"start", "end", "_format"})
    days = []
    for name in ("start", "end"):
        raw = params.get(name, "")
        try:
            days.append(date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw)
                        else None)
        except ValueError:
            days.append(None)
        if days[-1] is None:
            raise refuse(name, "a date like 2026-01-31 is required.")
    start, end = days
    if end < start:
        raise refuse("end", "the end is before the start.")
    return _day_start(start), _day_start(end + timedelta(days=1))


def export_referrals(start: datetime, end: datetime) -> QuerySet[Referral]:
    return fhir_referrals().filter(received_at__gte=start, received_at__lt=end).order_by(
        "received_at", "id")


def search_bundle(rows: QuerySet[Referral], page: Page, to_resource, *, self_url: str,
                  base: str, kind: str, query: dict[str, Any]) -> tuple[dict, list[Referral]]:
    """A searchset Bundle for one page of `rows`, with total and next/previous links."""
    from urllib.parse import urlencode

    total = rows.count()
    found = list(rows[page.offset:page.offset + page.count]) if page.count else []
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total,
                              "link": [{"relation": "self", "url": self_url}]}

    def link(offset: int) -> str:
        params = {k: v for k, v in query.items() if k not in ("_offset", "_count")}
        params.update({"_count": page.count, "_offset": offset})
        return f"{base}/{kind}?{urlencode(params, doseq=True)}"

    if page.count and page.offset + page.count < total:
        bundle["link"].append({"relation": "next", "url": link(page.offset + page.count)})
    if page.count and page.offset:
        bundle["link"].append({"relation": "previous",
                               "url": link(max(0, page.offset - page.count))})
    bundle["entry"] = []
    for referral in found:
        resource = to_resource(referral)
        bundle["entry"].append({"fullUrl": f"{base}/{kind}/{resource['id']}",
                                "resource": resource, "search": {"mode": "match"}})
    return bundle, found
