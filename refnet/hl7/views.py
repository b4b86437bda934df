"""POST /hl7/: a REF^I12 over HTTP. The body is the message (ER7), the response body the
ACK. The view is @public to the session middleware and checks the API key itself; a refused
key also gets an ACK (MSA-1 AR) so an interface engine logs why, with HTTP 401 or 403."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from refnet.accounts.audit import client_address
from refnet.accounts.permissions import Cap, public
from refnet.api.keys import key_allows, key_authenticate, raw_key_from

from .er7 import Header, Hl7Error, decode, normalize, read_header
from .mapping import ack_build
from .services import MAX_MESSAGE_BYTES, hl7_receive, new_control_id

HL7_TYPE = "x-application/hl7-v2+er7; charset=utf-8"
ACCEPTED_TYPES = ("x-application/hl7-v2+er7", "application/hl7-v2", "text/plain")


def _refusal(request: HttpRequest, status: int, message: str, code: str = "207") -> HttpResponse:
    header: Header | None = None
    try:
        header = read_header(normalize(decode(request.body[:4096])))
    except Exception:
        header = None
    from django.utils import timezone

    ack = ack_build(header, "AR", Hl7Error(message, "", 1, None, code, "AR"),
                    now=timezone.now(), control_id=new_control_id())
    response = HttpResponse(ack, status=status, content_type=HL7_TYPE)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response


@public
@csrf_exempt
def receive(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = HttpResponse("POST an HL7 v2 REF^I12 message here.\n", status=405,
                                content_type="text/plain; charset=utf-8")
        response["Allow"] = "POST"
        return response
    key = key_authenticate(raw_key_from(request), address=client_address(request))
    if key is None:
        return _refusal(request, 401, "An API key is required (Authorization: Bearer <key>).")
    if not key_allows(key, resource="hl7", write=True, cap=Cap.INTAKE):
        return _refusal(request, 403, "This API key may not send HL7 referrals (it needs the "
                                      "hl7 resource, write access and an intake role).")
    if request.content_type not in ACCEPTED_TYPES:
        return _refusal(request, 415, "Send the message as x-application/hl7-v2+er7 or "
                                      "text/plain.")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_MESSAGE_BYTES:
        return _refusal(request, 413, f"The message is larger than {MAX_MESSAGE_BYTES} bytes.")
    handled = hl7_receive(request.body, channel="http", actor=key.audit_name,
                          address=client_address(request), path=request.path)
    return HttpResponse(handled.ack, status=200, content_type=HL7_TYPE)
