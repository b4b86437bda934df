"""Reads for Integrations: the HL7 and FHIR message log, and the subscribers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from refnet.fhir.models import FhirRequest

from .models import HL7Message, HL7Subscriber

PAGE_SIZE = 50


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def hl7_log(*, ack: str = "", sender: str = "", since: date | None = None,
            until: date | None = None) -> QuerySet[HL7Message]:
    rows = HL7Message.objects.defer("raw", "ack", "patient_identifiers")
    if ack:
        rows = rows.filter(ack_code=ack)
    if sender:
        rows = rows.filter(Q(sending_application__icontains=sender)
                           | Q(sending_facility__icontains=sender)
                           | Q(actor__icontains=sender))
    if since:
        rows = rows.filter(received_at__gte=_day_start(since))
    if until:
        rows = rows.filter(received_at__lt=_day_start(until + timedelta(days=1)))
    return rows.order_by("-received_at", "-id")


def fhir_log(*, outcome: str = "", sender: str = "", since: date | None = None,
             until: date | None = None) -> QuerySet[FhirRequest]:
    rows = FhirRequest.objects.defer("body")
    if outcome == "ok":
        rows = rows.filter(status__lt=400)
    elif outcome == "refused":
        rows = rows.filter(status__gte=400, status__lt=500)
    elif outcome == "failed":
        rows = rows.filter(status__gte=500)
    if sender:
        rows = rows.filter(actor__icontains=sender)
    if since:
        rows = rows.filter(received_at__gte=_day_start(since))
    if until:
        rows = rows.filter(received_at__lt=_day_start(until + timedelta(days=1)))
    return rows.order_by("-received_at", "-id")


def hl7_ack_counts() -> dict[str, int]:
    return dict(HL7Message.objects.values_list("ack_code").annotate(n=Count("id"))
                .values_list("ack_code", "n"))


def subscribers() -> QuerySet[HL7Subscriber]:
    return HL7Subscriber.objects.annotate(replies_n=Count("replies_sent")).order_by(
        "-enabled", "sending_application", "sending_facility")
