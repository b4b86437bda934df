"""Who is calling: an API key, sent as `Authorization: Bearer rn_...` or `X-API-Key: rn_...`.

The key acts with a role (the app's capability table decides what that role may do) and is
narrowed further by its scope: read and/or write, and which resources. `allow()` is the one
check every operation makes before it touches data.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from refnet.accounts.audit import client_address
from refnet.accounts.permissions import CAPABILITIES, Cap

from .errors import forbidden
from .keys import key_allows, key_authenticate
from .models import ApiKey, ApiResource


def _address(request: HttpRequest) -> str | None:
    return client_address(request)


class BearerKey(HttpBearer):
    """Authorization: Bearer rn_<prefix>_<secret>"""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return key_authenticate(token, address=_address(request))


class HeaderKey(APIKeyHeader):
    """X-API-Key: rn_<prefix>_<secret>"""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        return key_authenticate(key, address=_address(request))


KEY_AUTH = [BearerKey(), HeaderKey()]


def allow(request: HttpRequest, resource: ApiResource, *, write: bool, cap: Cap) -> ApiKey:
    """The calling key, if its scope and its role both allow this; otherwise 403."""
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    if key_allows(key, resource=resource, write=write, cap=cap):
        return key
    label = ApiResource(resource).label.lower()
    if resource not in key.resources:
        raise forbidden(f"This API key is not scoped for {label}.")
    if write and not key.can_write:
        raise forbidden("This API key may only read; ask an admin for a key that may write.")
    if not write and not key.can_read:
        raise forbidden("This API key may only write, not read.")
    if key.role not in CAPABILITIES[cap]:
        raise forbidden(f"The role of this API key ({key.get_role_display()}) may not do this "
                        f"(it needs the '{cap.value}' capability).")
    raise forbidden("This API key may not do this.")


def key_has(key: ApiKey, cap: Cap) -> bool:
    """The key's role holds this capability (used to decide which fields to include)."""
    return key.role in CAPABILITIES[cap]
