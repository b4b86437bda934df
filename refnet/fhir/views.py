"""/fhir/: the FHIR R4 endpoints. Machine clients authenticate with an API key (api.keys);
the views are @public to the session middleware and check the key themselves."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from refnet.accounts.audit import audit_patients, client_address
from refnet.accounts.models import AuditAction
from refnet.accounts.permissions import CAPABILITIES, Cap, public
from refnet.api.keys import key_allows, key_authenticate, raw_key_from
from refnet.api.models import ApiKey
from refnet.referrals.models import Referral

from . import selectors
from .capability import capability_statement
from .mapping import (
    is_db_id,
    parse_json,
    referral_related_resources,
    referral_to_service_request,
    referral_to_task,
)
from .models import FhirRequest
from .outcome import FhirError, Issue, operation_outcome
from .services import service_request_receive

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json; charset=utf-8"
ACCEPTED_TYPES = ("application/fhir+json", "application/json")
MAX_BODY = 1024 * 1024
EXPORT_MAX_DAYS = 366
EXPORT_MAX_REFERRALS = 5000


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                            content_type=FHIR_JSON)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def refusal(error: FhirError) -> HttpResponse:
    headers = {"WWW_Authenticate": "Bearer"} if error.status == 401 else {}
    return fhir_response(operation_outcome(error.issues), error.status, **headers)


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir").rstrip("/")


def fhir_endpoint(*, methods: tuple[str, ...], key: bool = True) -> Callable:
    """Public to the session middleware, CSRF-exempt, one OperationOutcome for every
    refusal. With key=True the view receives the authenticated ApiKey as `key`; reads
    need REFERRALS_VIEW, writes INTAKE (checked per method in the view via `_allow`)."""

    def wrap(view: Callable) -> Callable:
        @wraps(view)
        def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise FhirError(405, [Issue(f"{request.method} is not supported here; "
                                                f"use {' or '.join(methods)}.",
                                                code="not-supported")])
                if key:
                    found = key_authenticate(raw_key_from(request),
                                             address=client_address(request))
                    if found is None:
                        raise FhirError(401, [Issue("An API key is required (Authorization: "
                                                    "Bearer <key>).", code="login")])
                    write = request.method == "POST"
                    cap = Cap.INTAKE if write else Cap.REFERRALS_VIEW
                    if not key_allows(found, resource="fhir", write=write, cap=cap):
                        raise FhirError(403, [Issue(
                            f"This key may not {'write' if write else 'read'} FHIR referrals.",
                            code="forbidden")])
                    kwargs["key"] = found
                response = view(request, *args, **kwargs)
            except FhirError as error:
                response = refusal(error)
            _log_request(request, response, kwargs.get("key"), kwargs.get("resource_id"))
            return response

        # What the permission matrix test reads to try every method this endpoint has.
        run.fhir_methods = methods  # type: ignore[attr-defined]
        run.fhir_key_required = key  # type: ignore[attr-defined]
        return public(csrf_exempt(run))

    return wrap


def _log_request(request: HttpRequest, response: HttpResponse, key: ApiKey | None,
                 resource_id: str | None) -> None:
    """One FhirRequest row per request (Integrations > Message log). A failure to log
    never changes the answer."""
    try:
        outcome, message, referral_id = "", "", None
        if response.status_code >= 400:
            issues = json.loads(response.content).get("issue", [])
            outcome = " ".join(dict.fromkeys(i.get("code", "") for i in issues))[:200]
            message = (issues[0].get("diagnostics", "") if issues else "")[:500]
        else:
            located = response.get("Location", "").rsplit("/ServiceRequest/", 1)
            found = located[1] if len(located) == 2 else (resource_id or "").removeprefix(
                "referral-")
            referral_id = int(found) if is_db_id(found) else None
        body = ""
        length = request.META.get("CONTENT_LENGTH") or "0"
        if request.method == "POST" and length.isdigit() and int(length) <= MAX_BODY:
            body = request.body[:MAX_BODY].decode("utf-8", "replace").replace("\x00", "")
        FhirRequest.objects.create(
            received_at=timezone.now(), method=request.method[:8],
            path=request.get_full_path()[:500], actor=key.audit_name[:150] if key else "",
            address=request.META.get("REMOTE_ADDR") or None, status=response.status_code,
            outcome=outcome, message=message,
            referral_id=referral_id if referral_id and Referral.all_objects.filter(
                pk=referral_id).exists() else None, body=body)
    except Exception:  # noqa: BLE001 - logged; the client still gets its answer
        log.exception("could not log a FHIR request")


def audit(request: HttpRequest, key: ApiKey, patient_ids, action: str, what: str) -> None:
    """accounts.audit's record, with the API key as the actor (a key is not a user)."""
    audit_patients(request=request, patient_ids=patient_ids, action=action, what=what,
                   actor=key.audit_name)


def _shows(key: ApiKey) -> dict[str, bool]:
    return {"with_patient": key.role in CAPABILITIES[Cap.PATIENTS_VIEW],
            "with_clinical": key.role in CAPABILITIES[Cap.CLINICAL_VIEW]}


def _referral_or_404(raw_id: str) -> Referral:
    # A removed referral is read as entered-in-error, not as missing.
    rows = selectors.fhir_referrals(removed_too=True)
    referral = rows.filter(pk=int(raw_id)).first() if is_db_id(raw_id) else None
    if referral is None:
        raise FhirError(404, [Issue(f"No such resource: {raw_id!r:.60}.", code="not-found")])
    return referral


@fhir_endpoint(methods=("GET",), key=False)
def metadata(request: HttpRequest) -> HttpResponse:
    return fhir_response(capability_statement(base_url(request)))


@fhir_endpoint(methods=("GET", "POST"))
def service_requests(request: HttpRequest, key: ApiKey) -> HttpResponse:
    if request.method == "POST":
        return _service_request_create(request, key)
    rows = selectors.service_request_search(request.GET)
    page = selectors.page_from(request.GET)
    shows = _shows(key)
    bundle, found = selectors.search_bundle(
        rows, page, lambda r: referral_to_service_request(r, **shows),
        self_url=request.build_absolute_uri(), base=base_url(request), kind="ServiceRequest",
        query=dict(request.GET.lists()))
    audit(request, key, [r.patient_id for r in found], AuditAction.QUERY,
          "fhir:ServiceRequest search")
    return fhir_response(bundle)


def _service_request_create(request: HttpRequest, key: ApiKey) -> HttpResponse:
    if request.content_type not in ACCEPTED_TYPES:
        raise FhirError(415, [Issue("Send the resource as application/fhir+json.",
                                    code="not-supported")])
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        raise FhirError(413, [Issue(f"The body is limited to {MAX_BODY} bytes.",
                                    code="too-costly")])
    posted = service_request_receive(data=parse_json(request.body),
                                     if_none_exist=request.headers.get("If-None-Exist"))
    # A repeat of a removed referral answers with it (entered-in-error), not a new one.
    referral = selectors.fhir_referrals(removed_too=True).get(pk=posted.referral.pk)
    audit(request, key, [referral.patient_id],
          AuditAction.CREATE if posted.created else AuditAction.VIEW,
          f"fhir:ServiceRequest/{referral.pk}")
    location = f"{base_url(request)}/ServiceRequest/{referral.pk}"
    return fhir_response(referral_to_service_request(referral, **_shows(key)),
                         201 if posted.created else 200, Location=location)


@fhir_endpoint(methods=("GET",))
def service_request_read(request: HttpRequest, resource_id: str, key: ApiKey) -> HttpResponse:
    referral = _referral_or_404(resource_id)
    audit(request, key, [referral.patient_id], AuditAction.VIEW,
          f"fhir:ServiceRequest/{referral.pk}")
    return fhir_response(referral_to_service_request(referral, **_shows(key)))


@fhir_endpoint(methods=("GET",))
def tasks(request: HttpRequest, key: ApiKey) -> HttpResponse:
    rows = selectors.task_search(request.GET)
    page = selectors.page_from(request.GET)
    bundle, found = selectors.search_bundle(
        rows, page, referral_to_task, self_url=request.build_absolute_uri(),
        base=base_url(request), kind="Task", query=dict(request.GET.lists()))
    audit(request, key, [r.patient_id for r in found], AuditAction.QUERY, "fhir:Task search")
    return fhir_response(bundle)


@fhir_endpoint(methods=("GET",))
def task_read(request: HttpRequest, resource_id: str, key: ApiKey) -> HttpResponse:
    if not resource_id.startswith("referral-"):
        raise FhirError(404, [Issue(f"No such resource: {resource_id!r:.60}.",
                                    code="not-found")])
    referral = _referral_or_404(resource_id[len("referral-"):])
    audit(request, key, [referral.patient_id], AuditAction.VIEW, f"fhir:Task/referral-"
                                                                   f"{referral.pk}")
    return fhir_response(referral_to_task(referral))


@fhir_endpoint(methods=("GET",))
def service_request_export(request: HttpRequest, key: ApiKey) -> HttpResponse:
    """A collection Bundle of the referrals received in a period: each ServiceRequest
    (patient and requester by reference), its Task, and the Patient, Practitioner,
    PractitionerRole and Organization resources they point to, each once."""
    start, end = selectors.period_from(request.GET)
    if (end - start).days > EXPORT_MAX_DAYS:
        raise FhirError(422, [Issue(f"Export at most {EXPORT_MAX_DAYS} days at a time.",
                                    code="too-costly")])
    rows = selectors.export_referrals(start, end)
    if rows.count() > EXPORT_MAX_REFERRALS:
        raise FhirError(422, [Issue(f"More than {EXPORT_MAX_REFERRALS} referrals in this "
                                    "period; export a shorter one.", code="too-costly")])
    base, shows = base_url(request), _shows(key)
    entries, seen = [], set()

    def add(resource: dict[str, Any]) -> None:
        url = f"{base}/{resource['resourceType']}/{resource['id']}"
        if url not in seen:
            seen.add(url)
            entries.append({"fullUrl": url, "resource": resource})

    patient_ids = []
    for referral in rows:
        add(referral_to_service_request(referral, contained=False, **shows))
        add(referral_to_task(referral))
        for resource in referral_related_resources(referral,
                                                   with_patient=shows["with_patient"]):
            add(resource)
        patient_ids.append(referral.patient_id)
    audit(request, key, patient_ids, AuditAction.EXPORT, "fhir:ServiceRequest $export")
    return fhir_response({"resourceType": "Bundle", "type": "collection", "entry": entries})
