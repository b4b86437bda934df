"""The audit trail for API reads and writes of patient data: accounts.audit with the key
as the actor (an API call has no user); its audit_name ("api-key:<prefix>:<name>") goes in
the username column."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from refnet.accounts.audit import audit_patients
from refnet.accounts.models import AuditAction

from .models import ApiKey


def audit_api(*, request: HttpRequest, key: ApiKey, patient_ids: Iterable[int | None],
              action: AuditAction, what: str) -> None:
    """One row per patient; a query that showed nobody still writes one row."""
    audit_patients(request=request, patient_ids=patient_ids, action=action, what=what,
                   actor=key.audit_name)
