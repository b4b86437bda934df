"""A manager or admin who has given only the password reaches nothing: every protected URL
(derived from the URL configuration, like the permission matrix), the Django admin, htmx
requests and the API answer with the code step, never with the page."""

import pytest
from django.urls import reverse

from refnet.accounts.tests.test_permission_matrix import KWARG, PROTECTED
from refnet.twofactor.testing import totp_device_for

VERIFY = reverse("twofactor:verify")


def _concrete(route: str) -> str:
    """A URL for the route with ids that point nowhere: the code step comes first anyway."""
    return "/" + KWARG.sub(lambda m: "999999" if m.group(1) == "int" else "nothing", route)


ENROLL = reverse("twofactor:enroll")


@pytest.mark.parametrize("role,enrolled", [("manager", True), ("manager", False),
                                           ("admin", True)])
def test_a_password_only_session_is_refused_everywhere(client, users, role, enrolled):
    if enrolled:
        totp_device_for(users[role])
    step = VERIFY if enrolled else ENROLL
    client.force_login(users[role])
    leaks = []
    urls = [_concrete(route) for route, _ in PROTECTED] + ["/", "/admin/", "/admin/accounts/user/"]
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if url.startswith(("/api/", "/fhir/", "/hl7/")):
                ok = response.status_code == 403 and b"second_factor_required" in response.content
            else:
                ok = response.status_code == 302 and response["Location"].startswith(step)
            if not ok:
                leaks.append(f"{method.upper()} {url} -> {response.status_code}")
    assert leaks == []


def test_the_api_refuses_a_password_only_session(client, users):
    client.force_login(users["admin"])
    response = client.get("/api/partners")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"


def test_htmx_requests_are_sent_to_the_code_step_as_a_full_page(client, users):
    totp_device_for(users["manager"])
    client.force_login(users["manager"])
    response = client.get(reverse("followups:inbox"), headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(VERIFY)


def test_the_same_user_reaches_the_pages_once_verified(login):
    client = login("manager")
    assert client.get("/reports/").status_code == 200
    assert client.get("/admin/").status_code in (200, 302)
