from types import MappingProxyType

from .models import Role
from .permissions import CAPABILITIES, Cap


def _table(role: str | None) -> MappingProxyType:
    return MappingProxyType({c.name.lower(): role is not None and role in CAPABILITIES[c]
                             for c in Cap})


# `can` per role, made once: the table is fixed in code (permissions.CAPABILITIES), and
# every page's menu reads it (has_cap per capability was ~36 calls per render).
# Read-only, since one mapping is shared by every request of that role.
_NOTHING = _table(None)
_BY_ROLE = {str(role): _table(role) for role in Role}


def capabilities(request):
    """`can.intake`, `can.clinical_view`, ... in every template, for menus and field hiding.
    The same answers as has_cap: nothing for an anonymous or inactive user."""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {"can": _NOTHING}
    return {"can": _BY_ROLE.get(str(user.role), _NOTHING)}
