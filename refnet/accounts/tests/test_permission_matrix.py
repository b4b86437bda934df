"""Every URL for every role, derived from the URL configuration: a new view cannot escape.

1. Walk the URL patterns. Each refnet view must declare a capability or be public.
2. For each role, every non-public URL answers 403 exactly when the role lacks the
   capability (the object ids point nowhere, so an allowed role may get 404 or 405, never
   403), and anonymous users are sent to the login page.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from refnet.accounts.models import Role
from refnet.accounts.permissions import CAPABILITIES
from refnet.twofactor.testing import force_login_verified


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if getattr(p, "app_name", None) == "admin" or str(p.pattern).startswith("admin/"):
                continue  # Django's admin checks is_staff itself; refnet gives it to admins only
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def _concrete(route: str) -> str:
    path = re.sub(r"<int:\w+>", "999999", route)
    path = re.sub(r"<(?:str|slug):\w+>", "nothing", path)
    path = re.sub(r"<\w+>", "nothing", path)
    return "/" + path


ROUTES = sorted((_concrete(r), v) for r, v in _walk(get_resolver().url_patterns))
PROTECTED = [(url, view) for url, view in ROUTES if not getattr(view, "refnet_public", False)]


def test_every_view_declares_who_may_use_it():
    undeclared = [url for url, view in ROUTES
                  if not getattr(view, "refnet_public", False)
                  and getattr(view, "refnet_capability", None) is None]
    assert undeclared == []
    assert len(PROTECTED) >= 10  # the walk found the app's views, not nothing


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_reaches_exactly_what_its_capabilities_allow(client, users, role):
    force_login_verified(client, users[role])
    wrong = []
    for url, view in PROTECTED:
        allowed = role in CAPABILITIES[view.refnet_capability]
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            if (status == 403) == allowed:
                wrong.append(f"{method.upper()} {url} -> {status} (allowed={allowed})")
    assert wrong == []


def test_anonymous_users_are_redirected_to_log_in_everywhere(client, db):
    for url, _view in PROTECTED:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_outreach_has_no_patient_or_clinical_capability():
    from refnet.accounts.permissions import Cap

    for cap in (Cap.PATIENTS_VIEW, Cap.CLINICAL_VIEW, Cap.REFERRALS_VIEW, Cap.INTAKE):
        assert Role.OUTREACH not in CAPABILITIES[cap]


def test_the_integration_log_is_only_for_roles_that_may_see_patients():
    from refnet.accounts.permissions import Cap

    assert CAPABILITIES[Cap.INTEGRATIONS] <= CAPABILITIES[Cap.PATIENTS_VIEW]
