"""The audit trail of patient data: one row per patient per view, query, change or export."""

from collections.abc import Iterable

from django.http import HttpRequest

from .models import AuditAction, AuditEvent


def _address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def audit_patients(
    *, request: HttpRequest | None, patient_ids: Iterable[int | None], action: AuditAction,
    what: str, actor: str | None = None, address: str | None = None,
) -> None:
    """Record that `request.user` touched these patients. Written even when the list is empty
    for a query, so that a search that showed nobody is still on the record.

    Machine clients are not users: `actor` names them instead (an API key's audit_name, an
    HL7 sender), and without a request (an MLLP connection) `address` is the peer's."""
    user = None
    if actor is None and request is not None and request.user.is_authenticated:
        user = request.user
    username = actor if actor is not None else (user.username if user else "")
    ids = list(dict.fromkeys(pid for pid in patient_ids if pid is not None))
    rows = [
        AuditEvent(
            user=user,
            username=username[:150],
            patient_id=pid,
            action=action,
            what=what[:200],
            address=_address(request) if request is not None else address,
            path=request.get_full_path()[:300] if request is not None else "",
        )
        for pid in (ids or ([None] if action == AuditAction.QUERY else []))
    ]
    AuditEvent.objects.bulk_create(rows)
