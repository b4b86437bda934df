"""Who must sign in with a second factor, and what a session remembers about it.

Managers and admins always need one. Anyone else who enrolled an authenticator app is asked
for it too; that is decided once at log-in and kept in the session, so the check costs no
query per request.
"""

from typing import Any

from refnet.accounts.models import Role

REQUIRED_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
# Set at log-in for users outside REQUIRED_ROLES who have a confirmed device.
SESSION_OPTED_IN = "refnet_2fa_opted_in"


def role_requires_second_factor(user: Any) -> bool:
    return getattr(user, "role", None) in REQUIRED_ROLES
