"""The audit trail for API reads and writes of patient data.

accounts.audit.audit_patients records `request.user`; an API call has no user, so the key
is the actor: its audit_name ("api-key:<prefix>:<name>") goes in the username column.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from refnet.accounts.models import AuditAction, AuditEvent

from .models import ApiKey


def audit_api(*, request: HttpRequest, key: ApiKey, patient_ids: Iterable[int | None],
              action: AuditAction, what: str) -> None:
    """One row per patient; a query that showed nobody still writes one row."""
    ids = list(dict.fromkeys(pid for pid in patient_ids if pid is not None))
    address = request.META.get("REMOTE_ADDR") or None
    rows = [
        AuditEvent(user=None, username=key.audit_name, patient_id=pid, action=action,
                   what=what[:200], address=address, path=request.get_full_path()[:300])
        for pid in (ids or ([None] if action == AuditAction.QUERY else []))
    ]
    AuditEvent.objects.bulk_create(rows)
