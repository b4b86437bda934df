"""Reads for the updates pages."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import DeliveryStatus, Update, UpdateDelivery


def updates_with_counts() -> QuerySet[Update]:
    """Every update with its deliveries counted by status (one query)."""
    counts = {f"n_{s}": Count("deliveries", filter=Q(deliveries__status=s))
              for s in DeliveryStatus.values}
    return Update.objects.select_related("created_by", "published_by").annotate(
        n_total=Count("deliveries"), **counts).order_by("-created_at", "-id")


def delivery_record(update: Update, status: str | None = None) -> QuerySet[UpdateDelivery]:
    """Who received what, when: one row per partner."""
    rows = update.deliveries.select_related("partner", "message")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("partner__name", "id")


def delivery_counts(update: Update) -> list[tuple[DeliveryStatus, int]]:
    found = dict(update.deliveries.order_by().values_list("status").annotate(n=Count("pk")))
    return [(s, found.get(s.value, 0)) for s in DeliveryStatus]
