"""Every URL for every role, derived from the URL configuration: a new view cannot escape.

1. Walk the URL patterns. Each refnet view must declare a capability or be public, and
   every URL that names an object must have a way to fill its ids from a world of real
   objects (world.py); a route this file cannot fill fails the test, by name.
2. For each role, every protected URL (GET and POST) answers 403 exactly when the role
   lacks the view's capability; an allowed role gets a real answer (2xx/3xx, or 405/400
   for the method the view does not take or the empty form it refuses), never 403/404/5xx.
3. Object-level rules: a row a user may not see answers 404 (someone else's follow-up for
   a role without everyone's inbox; a compose page naming a patient for a role without
   the patients capability), and no page a role without the patients capability opens
   names the world's patient.
4. Every page shows the world's hostile text as text (world.evaluated finds nothing).
5. Public URLs are listed here with what anonymous users get; the REST API, FHIR and HL7
   routes are covered by test_api_permission_matrix.py.

Each request runs in a savepoint that is rolled back, so a POST (delete, revoke, merge)
does not change the world for the next URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from refnet.accounts.models import Role
from refnet.accounts.permissions import CAPABILITIES, Cap

from .world import PATIENT_MARKER, World, evaluated, world_fixture  # noqa: F401 - the fixture

ROLES = [r.value for r in Role]


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if getattr(p, "app_name", None) == "admin" or str(p.pattern).startswith("admin/"):
                continue  # Django's admin checks is_staff itself; refnet gives it to admins only
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


ROUTES: list[tuple[str, Callable]] = sorted(
    {r: v for r, v in _walk(get_resolver().url_patterns)}.items())
PROTECTED = [(r, v) for r, v in ROUTES if not getattr(v, "refnet_public", False)]
PUBLIC = [(r, v) for r, v in ROUTES if getattr(v, "refnet_public", False)]
KWARG = re.compile(r"<(?:(\w+):)?(\w+)>")


# --- Filling a route's ids from the world ----------------------------------------------
# Keyed by the route as written in the URL configuration. A new route with ids needs a
# line here (the test says which), which is the point: nobody adds a view unchecked.

Fill = Callable[[World, str], dict[str, Any]]


def _other_role(role: str) -> str:
    return "manager" if role != "manager" else "coordinator"


FILL: dict[str, Fill] = {
    "partners/<int:pk>/": lambda w, r: {"pk": w.partner.pk},
    "partners/<int:pk>/edit/": lambda w, r: {"pk": w.partner.pk},
    "partners/<int:pk>/contacts/new/": lambda w, r: {"pk": w.partner.pk},
    "partners/<int:pk>/merge/": lambda w, r: {"pk": w.partner.pk},
    "partners/<int:pk>/merge/<int:duplicate_pk>/": lambda w, r: {
        "pk": w.partner.pk, "duplicate_pk": w.duplicate.pk},
    "referrals/<int:pk>/": lambda w, r: {"pk": w.referral.pk},
    "referrals/<int:pk>/transition/": lambda w, r: {"pk": w.referral.pk},
    "referrals/<int:pk>/resolve-source/": lambda w, r: {"pk": w.unknown_referral.pk},
    "referrals/patients/<int:pk>/": lambda w, r: {"pk": w.patient.pk},
    "referrals/<int:pk>/visits/": lambda w, r: {"pk": w.referral.pk},
    "referrals/<int:pk>/remove/": lambda w, r: {"pk": w.referral.pk},
    "referrals/<int:pk>/restore/": lambda w, r: {"pk": w.removed_referral.pk},
    # One's own follow-up here; someone else's is an object-level rule below.
    "inbox/<int:pk>/done/": lambda w, r: {"pk": w.followups[r].pk},
    "inbox/<int:pk>/skip/": lambda w, r: {"pk": w.followups[r].pk},
    "inbox/<int:pk>/snooze/": lambda w, r: {"pk": w.followups[r].pk},
    "inbox/<int:pk>/reassign/": lambda w, r: {"pk": w.followups[r].pk},
    "inbox/rules/<int:pk>/": lambda w, r: {"pk": w.rule.pk},
    "inbox/rules/partner/<int:pk>/": lambda w, r: {"pk": w.partner.pk},
    "reports/r/<slug:slug>/": lambda w, r: {"slug": "partner-health"},
    "reports/r/<slug:slug>/rows/": lambda w, r: {"slug": "referrals-over-time"},
    "messages/<int:pk>/": lambda w, r: {"pk": w.message.pk},
    "messages/<int:pk>/resend/": lambda w, r: {"pk": w.message.pk},
    "messages/<int:pk>/cancel/": lambda w, r: {"pk": w.message.pk},
    "messages/templates/<int:pk>/": lambda w, r: {"pk": w.template.pk},
    "network/move/<int:pk>/": lambda w, r: {"pk": w.partner.pk},
    "network/fit/<int:pk>/": lambda w, r: {"pk": w.partner.pk},
    "finder/add/<int:npi>/": lambda w, r: {"npi": w.provider.npi},
    "finder/pairs/<int:pk>/": lambda w, r: {"pk": w.pair.pk},
    "finder/pairs/<int:pk>/delete/": lambda w, r: {"pk": w.pair.pk},
    "finder/imports/<int:pk>/progress/": lambda w, r: {"pk": w.registry_import.pk},
    "finder/imports/<int:pk>/resume/": lambda w, r: {"pk": w.registry_import.pk},
    "outreach/events/<int:pk>/": lambda w, r: {"pk": w.event.pk},
    "outreach/events/<int:pk>/edit/": lambda w, r: {"pk": w.event.pk},
    "outreach/events/<int:pk>/send/": lambda w, r: {"pk": w.event.pk},
    "outreach/events/<int:pk>/steps/": lambda w, r: {"pk": w.event.pk},
    "outreach/events/<int:pk>/attribution/": lambda w, r: {"pk": w.event.pk},
    "outreach/events/<int:pk>/invitees/pick/": lambda w, r: {"pk": w.event.pk},
    "outreach/events/<int:pk>/invitees/add/": lambda w, r: {"pk": w.event.pk},
    "outreach/events/<int:pk>/invitees/<int:invitee_pk>/": lambda w, r: {
        "pk": w.event.pk, "invitee_pk": w.invitee.pk},
    "outreach/events/<int:pk>/invitees/<int:invitee_pk>/remove/": lambda w, r: {
        "pk": w.event.pk, "invitee_pk": w.invitee.pk},
    "outreach/playbooks/<int:pk>/use/": lambda w, r: {"pk": w.playbook.pk},
    "outreach/rsvp/<str:token>/": lambda w, r: {"token": w.rsvp_token},
    "updates/<int:pk>/": lambda w, r: {"pk": w.update.pk},
    "updates/<int:pk>/edit/": lambda w, r: {"pk": w.update.pk},
    "updates/<int:pk>/publish/": lambda w, r: {"pk": w.update.pk},
    "updates/<int:pk>/delete/": lambda w, r: {"pk": w.update.pk},
    "rewards/partner/<int:pk>/": lambda w, r: {"pk": w.partner.pk},
    "rewards/partner/<int:pk>/check/": lambda w, r: {"pk": w.partner.pk},
    "rewards/caps/<int:pk>/": lambda w, r: {"pk": w.cap.pk},
    "plan/goals/<int:pk>/": lambda w, r: {"pk": w.goal.pk},
    "plan/goals/<int:pk>/items/new/": lambda w, r: {"pk": w.goal.pk},
    "plan/items/<int:pk>/": lambda w, r: {"pk": w.item.pk},
    "import/<int:pk>/": lambda w, r: {"pk": w.import_job.pk},
    "import/<int:pk>/mapping/": lambda w, r: {"pk": w.import_job.pk},
    "import/<int:pk>/commit/": lambda w, r: {"pk": w.import_job.pk},
    "import/<int:pk>/progress/": lambda w, r: {"pk": w.import_job.pk},
    "import/<int:pk>/problems.csv": lambda w, r: {"pk": w.import_job.pk},
    "partners/<int:pk>/remove/": lambda w, r: {"pk": w.partner.pk},
    "partners/<int:pk>/restore/": lambda w, r: {"pk": w.removed_partner.pk},
    "referrals/patients/<int:pk>/export/": lambda w, r: {"pk": w.patient.pk},
    "integrations/hl7/<int:pk>/": lambda w, r: {"pk": w.hl7_message.pk},
    "integrations/fhir/<int:pk>/": lambda w, r: {"pk": w.fhir_request.pk},
    "integrations/subscribers/<int:pk>/": lambda w, r: {"pk": w.subscriber.pk},
    "integrations/subscribers/<int:pk>/enable/": lambda w, r: {"pk": w.subscriber.pk},
    "accounts/two-step/users/<int:user_id>/reset/": lambda w, r: {
        "user_id": w.users["manager"].pk},
    "settings/api-keys/<int:pk>/revoke/": lambda w, r: {"pk": w.api_key.pk},
    "u/unsubscribe/<str:token>/": lambda w, r: {"token": w.unsubscribe_token},
    "api/docs/assets/<str:name>": lambda w, r: {"name": "swagger-ui.css"},
    "api/<path:rest>": lambda w, r: {"rest": "no/such/thing"},
    "fhir/ServiceRequest/<str:resource_id>": lambda w, r: {"resource_id": str(w.referral.pk)},
    "fhir/Task/<str:resource_id>": lambda w, r: {"resource_id": f"referral-{w.referral.pk}"},
}


def _url(route: str, kwargs: dict[str, Any]) -> str:
    return "/" + KWARG.sub(lambda m: str(kwargs[m.group(2)]), route)


def _fill(world: World, route: str, role: str) -> str:
    url = _url(route, FILL[route](world, role) if KWARG.search(route) else {})
    return url + QUERY.get(route, "").format(w=world)


# --- Object-level rules ----------------------------------------------------------------
# (method, route, how to fill it, query string, the roles that may see that row). A role
# with the view's capability but not in the set gets 404: the row does not exist for it.

OBJECT_RULES: list[tuple[str, str, Fill, str, set[Role]]] = [
    *[("post", f"inbox/<int:pk>/{action}/", lambda w, r: {"pk": w.followups[_other_role(r)].pk},
       "", CAPABILITIES[Cap.FOLLOWUPS_ALL]) for action in ("done", "skip", "snooze", "reassign")],
    # A removed referral exists only for those who may restore it: its own page, and
    # nothing that works on it.
    ("get", "referrals/<int:pk>/", lambda w, r: {"pk": w.removed_referral.pk}, "",
     CAPABILITIES[Cap.REFERRALS_REMOVE]),
    *[("post", f"referrals/<int:pk>/{action}/", lambda w, r: {"pk": w.removed_referral.pk},
       "", set()) for action in ("transition", "visits", "remove")],
    ("get", "messages/compose/", lambda w, r: {},
     "?partner={w.partner.pk}&referral={w.referral.pk}&purpose=thank_you",
     CAPABILITIES[Cap.PATIENTS_VIEW]),
]

# The query string a page needs to show anything (it is about something).
QUERY: dict[str, str] = {
    "messages/compose/": "?partner={w.other_partner.pk}&purpose=check_in",
}


# --- Public routes ---------------------------------------------------------------------
# What an anonymous GET gets. The REST API's operations and the FHIR and HL7 endpoints are
# key-authenticated and checked operation by operation in test_api_permission_matrix.py.

PUBLIC_GET: dict[str, set[int]] = {
    "": {302},  # the home page sends anonymous users to log in
    "accounts/login/": {200},
    "accounts/logout/": {405},  # POST only
    # The second step of signing in: without a password step first, back to the login page.
    "accounts/two-step/": {302},
    "accounts/two-step/code/": {302},
    "accounts/two-step/enroll/": {302},
    "accounts/two-step/backup-codes/": {302},
    "accounts/two-step/backup-codes/new/": {302},
    "health/": {200, 503},  # 503 here: no refnet worker runs in the tests
    "outreach/rsvp/<str:token>/": {200},  # a signed link in an invitation
    "u/unsubscribe/<str:token>/": {200},  # a signed link in an email
    "u/sms/inbound/": {405},  # the SMS provider's webhook, POST with a signature
    "api/openapi.json": {200},
    "api/docs": {200},
    "api/docs/assets/<str:name>": {200},
    "api/": {404},
    "api/<path:rest>": {404},
}


def _is_machine_route(route: str) -> bool:
    """Covered by test_api_permission_matrix.py."""
    return route.startswith(("fhir/", "hl7/")) or getattr(
        dict(ROUTES)[route], "__module__", "").startswith("ninja.")


def _request(client, method: str, url: str, **extra: Any):
    """One request in a savepoint that is rolled back: the world stays as it was."""
    with transaction.atomic():
        response = getattr(client, method)(url, **extra)
        transaction.set_rollback(True)
    return response


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


# --- The tests -------------------------------------------------------------------------


def test_every_view_declares_who_may_use_it():
    undeclared = [route for route, view in ROUTES
                  if not getattr(view, "refnet_public", False)
                  and getattr(view, "refnet_capability", None) is None]
    assert undeclared == []
    assert len(PROTECTED) >= 10  # the walk found the app's views, not nothing


def test_every_route_with_ids_can_be_filled_from_the_world():
    # The REST API's operations get their ids from its OpenAPI schema instead.
    missing = [route for route, _view in ROUTES
               if KWARG.search(route) and route not in FILL
               and not (route.startswith("api/") and _is_machine_route(route))]
    assert missing == [], (
        "These routes name objects the permission matrix cannot fill; add each to FILL in "
        f"{__file__} (and the object to world.py): {missing}")
    stale = sorted(set(FILL) - {route for route, _view in ROUTES})
    assert stale == [], f"FILL names routes that no longer exist: {stale}"


def test_every_public_route_is_listed_with_what_anonymous_users_get():
    unlisted = [route for route, _view in PUBLIC
                if route not in PUBLIC_GET and not _is_machine_route(route)]
    assert unlisted == [], (
        "These views are public (no login): list each in PUBLIC_GET with what an anonymous "
        f"user gets, or give it a capability: {unlisted}")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_what_its_capabilities_allow(login, world, role):
    """Real ids: an allowed role gets the real page, others 403; and no page evaluates the
    hostile text or shows a patient to a role that may not see patients."""
    client = login(role)
    may_see_patients = role in CAPABILITIES[Cap.PATIENTS_VIEW]
    wrong, leaks = [], []
    for route, view in PROTECTED:
        url = _fill(world, route, role)
        allowed = role in CAPABILITIES[view.refnet_capability]
        answers = {}
        for method in ("get", "post"):
            response = _request(client, method, url)
            status = answers[method] = response.status_code
            if allowed and (status in (403, 404) or status >= 500):
                wrong.append((method.upper(), url, role, status, "allowed"))
            if not allowed and status != 403:
                wrong.append((method.upper(), url, role, status, "refused"))
            body = _body(response)
            found = evaluated(body, html=_is_html(response))
            if not may_see_patients and PATIENT_MARKER in body:
                found.append("the patient's name")
            if found:
                leaks.append((method.upper(), url, role, status, found))
        # A POST-only view refusing an empty form (400) has run past the permission check.
        real = any(200 <= s < 400 for s in answers.values()) or answers == {"get": 405,
                                                                             "post": 400}
        if allowed and not real:
            wrong.append(("GET/POST", url, role, answers, "no real answer to either method"))
    assert wrong == [], "wrong (method, url, role, status, expected):\n" + "\n".join(
        map(str, wrong))
    assert leaks == [], "hostile text run, or a patient shown:\n" + "\n".join(map(str, leaks))


@pytest.mark.parametrize("role", ROLES)
def test_rows_a_role_may_not_see_answer_404(login, world, role):
    client = login(role)
    wrong = []
    for method, route, fill, query, who_sees in OBJECT_RULES:
        view = dict(ROUTES)[route]
        if role not in CAPABILITIES[view.refnet_capability]:
            continue  # refused outright; the test above checks that
        url = _url(route, fill(world, role)) + query.format(w=world)
        status = _request(client, method, url).status_code
        if role in who_sees:
            ok = status not in (403, 404) and status < 500
        else:
            ok = status == 404
        if not ok:
            wrong.append((method.upper(), url, role, status,
                          "allowed" if role in who_sees else "404"))
    assert wrong == [], "wrong (method, url, role, status, expected):\n" + "\n".join(
        map(str, wrong))


def test_anonymous_users_are_redirected_to_log_in_everywhere(client, world):
    wrong = []
    for route, _view in PROTECTED:
        url = _fill(world, route, "admin")
        for method in ("get", "post"):
            response = _request(client, method, url)
            if response.status_code != 302 or "/accounts/login/" not in response["Location"]:
                wrong.append((method.upper(), url, "anonymous", response.status_code))
    assert wrong == [], "not sent to log in (method, url, role, status):\n" + "\n".join(
        map(str, wrong))


def test_public_pages_answer_anonymous_users_as_listed(client, world):
    wrong = []
    for route, _view in PUBLIC:
        if _is_machine_route(route):
            continue
        url = _fill(world, route, "admin")
        response = _request(client, "get", url)
        if response.status_code not in PUBLIC_GET[route]:
            wrong.append(("GET", url, "anonymous", response.status_code))
        found = evaluated(_body(response), html=_is_html(response))
        if PATIENT_MARKER in _body(response):
            found.append("the patient's name")
        if found:
            wrong.append(("GET", url, "anonymous", response.status_code, found))
    assert wrong == [], "wrong (method, url, role, status):\n" + "\n".join(map(str, wrong))


def test_outreach_has_no_patient_or_clinical_capability():
    for cap in (Cap.PATIENTS_VIEW, Cap.CLINICAL_VIEW, Cap.REFERRALS_VIEW, Cap.INTAKE):
        assert Role.OUTREACH not in CAPABILITIES[cap]


# Query parameters the app's pages read; each gets hostile text in the test below.
PARAMS = ("q", "page", "start", "end", "by", "granularity", "location", "service_line",
          "kind", "category", "owner", "status", "stage", "who", "days", "period", "year",
          "format", "sort", "next", "purpose", "partner", "referral", "contact", "channel",
          "followup", "reached", "source", "until", "month", "tag", "sheet")


def test_hostile_query_parameters_are_echoed_as_text_and_never_crash(login, world):
    """Reflected input: every page, as admin (who may open all), with every parameter the
    app reads set to markup. No 5xx, and no page returns the markup unescaped."""
    from urllib.parse import urlencode

    from .world import IMG, SCRIPT

    client = login("admin")
    query = "?" + urlencode({name: f"{SCRIPT}{IMG}" for name in PARAMS})
    wrong = []
    for route, _view in PROTECTED:
        url = _url(route, FILL[route](world, "admin") if KWARG.search(route) else {}) + query
        response = _request(client, "get", url)
        found = evaluated(_body(response), html=_is_html(response))
        if response.status_code >= 500 or found:
            wrong.append(("GET", url[:80], "admin", response.status_code, found))
    assert wrong == [], "(method, url, role, status, found):\n" + "\n".join(map(str, wrong))
