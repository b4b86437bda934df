"""Create, revoke and check API keys (models.ApiKey).

A key looks like `rn_<prefix>_<secret>`; clients send it as `Authorization: Bearer <key>`
or `X-API-Key: <key>`. `key_authenticate` is what every machine-facing endpoint (the REST
API, /fhir/, the HL7 HTTP endpoint) calls; `key_allows` applies the scope and the role.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from refnet.accounts.models import Role, User
from refnet.accounts.permissions import CAPABILITIES, Cap

from .models import ApiKey, ApiResource

KEY_PREFIX = "rn_"
# Recording every use would turn each read into a write; once a minute is enough to say
# "last used".
LAST_USED_EVERY = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, role: str, resources: list[str], can_read: bool = True,
                   can_write: bool = False, by: User | None,
                   raw: str | None = None) -> tuple[ApiKey, str]:
    """A new key and its secret. The secret is returned here once and never stored.
    `raw` is for the demo only (`refnet demo` publishes its key, like its password)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the integration that will use this key."})
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    unknown = sorted(set(resources) - set(ApiResource.values))
    if unknown:
        raise ValidationError({"resources": f"Unknown resources: {', '.join(unknown)}."})
    if not resources:
        raise ValidationError({"resources": "Choose at least one resource."})
    if not (can_read or can_write):
        raise ValidationError({"can_read": "A key must be allowed to read or to write."})
    if raw is None:
        prefix = secrets.token_hex(4)
        raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    else:
        prefix = raw[len(KEY_PREFIX):].split("_", 1)[0]
    key = ApiKey.objects.create(
        name=name[:100], prefix=prefix, key_hash=_digest(raw), role=role,
        resources=sorted(set(resources)), can_read=can_read, can_write=can_write,
        created_by=by,
    )
    return key, raw


def api_key_revoke(*, key: ApiKey, by: User | None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.revoked_by = by
        key.save(update_fields=["revoked_at", "revoked_by"])
    return key


def raw_key_from(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-API-Key", "").strip() or None


def key_authenticate(raw: str | None, *, address: str | None = None) -> ApiKey | None:
    """The active key with this secret, or None. Records when (and from where) it was last
    used, at most once a minute."""
    if not raw or not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    key = ApiKey.objects.filter(key_hash=_digest(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_from=address)
        key.last_used_at, key.last_used_from = now, address
    return key


def key_allows(key: ApiKey, *, resource: str, write: bool, cap: Cap | None = None) -> bool:
    """Scope (read/write, resource) and role (the app's capability table) both agree."""
    if not key.is_active or resource not in key.resources:
        return False
    if (write and not key.can_write) or (not write and not key.can_read):
        return False
    return cap is None or key.role in CAPABILITIES[cap]
