"""The main menu: each role sees the links its capabilities allow, and only those (the
`can` table the templates read is made once per role: context_processors.capabilities)."""

import re

import pytest
from django.urls import reverse

from refnet.accounts.context_processors import capabilities
from refnet.accounts.models import Role
from refnet.accounts.permissions import Cap, has_cap

# Menu link -> the capability that shows it.
MENU = {
    "referrals:intake": Cap.INTAKE, "referrals:list": Cap.REFERRALS_VIEW,
    "referrals:board": Cap.REFERRALS_VIEW, "reports:dashboard": Cap.REPORTS_VIEW,
    "partners:list": Cap.PARTNERS_VIEW, "prospects:board": Cap.PIPELINE,
    "followups:inbox": Cap.FOLLOWUPS, "outbox:list": Cap.OUTBOX_VIEW,
    "outbox:templates": Cap.TEMPLATES_EDIT, "followups:rules": Cap.RULES_EDIT,
    "imports:start": Cap.IMPORT_RUN, "integrations:log": Cap.INTEGRATIONS,
    "api_keys:list": Cap.API_KEYS, "audit_log": Cap.AUDIT_VIEW,
    "twofactor:users": Cap.ADMIN, "admin:index": Cap.ADMIN,
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_the_menu_links_its_capabilities_allow(login, users, role):
    body = login(role.value).get(reverse("partners:list")).content.decode()
    menu = re.search(r'<nav aria-label="Main">(.*?)</nav>', body, re.S).group(1)
    shown = set(re.findall(r'href="([^"]+)"', menu))
    user = users[role.value]
    assert shown == {reverse(name) for name, cap in MENU.items() if has_cap(user, cap)}


def test_the_capability_table_answers_as_has_cap(rf, users):
    request = rf.get("/")
    for user in users.values():
        request.user = user
        assert capabilities(request)["can"] == {c.name.lower(): has_cap(user, c) for c in Cap}
    user = users["admin"]
    user.is_active = False  # an account switched off mid-session sees nothing
    request.user = user
    assert not any(capabilities(request)["can"].values())
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert not any(capabilities(request)["can"].values())
    with pytest.raises(TypeError):
        capabilities(request)["can"]["admin"] = True  # shared between requests: read-only
