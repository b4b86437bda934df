"""The audit trail of patient data: one row per patient per view, query, change or export."""

from collections.abc import Iterable

from django.http import HttpRequest

from .models import AuditAction, AuditEvent


def _address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def audit_patients(
    *, request: HttpRequest, patient_ids: Iterable[int | None], action: AuditAction, what: str
) -> None:
    """Record that `request.user` touched these patients. Written even when the list is empty
    for a query, so that a search that showed nobody is still on the record."""
    user = request.user if request.user.is_authenticated else None
    ids = list(dict.fromkeys(pid for pid in patient_ids if pid is not None))
    rows = [
        AuditEvent(
            user=user,
            username=user.username if user else "",
            patient_id=pid,
            action=action,
            what=what[:200],
            address=_address(request),
            path=request.get_full_path()[:300],
        )
        for pid in (ids or ([None] if action == AuditAction.QUERY else []))
    ]
    AuditEvent.objects.bulk_create(rows)
