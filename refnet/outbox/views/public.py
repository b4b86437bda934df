"""Pages for people outside the practice: the unsubscribe link in partner emails and the
SMS provider's webhook. Both are @public; neither shows anything but its own answer."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from refnet.accounts.permissions import public

from ..addresses import read_unsubscribe_token
from ..models import MessageChannel, SuppressionReason
from ..services import sms_inbound_record, suppression_add


# Exempt from CSRF: mail clients send the RFC 8058 one-click POST
# ("List-Unsubscribe=One-Click") without a form of ours, and the signed token in the URL is
# what authorizes it. Unsubscribing someone is the only thing this view can do.
@public
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        channel, address = read_unsubscribe_token(token)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return render(request, "outbox/unsubscribe.html", {"bad_link": True}, status=400)
    channel_label = MessageChannel(channel).label.lower() if channel in MessageChannel.values \
        else channel
    context = {"channel_label": channel_label, "practice_name": settings.REFNET_PRACTICE_NAME,
               "practice_phone": settings.REFNET_PRACTICE_PHONE}
    if request.method == "POST":
        try:
            suppression_add(channel=channel, address=address,
                            reason=SuppressionReason.UNSUBSCRIBE, note="Unsubscribe link")
        except ValidationError:
            return render(request, "outbox/unsubscribe.html", {"bad_link": True}, status=400)
        return render(request, "outbox/unsubscribe.html", {**context, "done": True})
    return render(request, "outbox/unsubscribe.html", context)


# The provider posts without a CSRF token; the shared secret header is the authentication.
@public
@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """POST From=<number>&Body=<text> with X-Refnet-Webhook-Secret. 404 while no secret is
    configured (the endpoint does not exist), 403 for a wrong secret."""
    secret = settings.REFNET_SMS_WEBHOOK_SECRET
    if not secret:
        raise Http404
    given = request.headers.get("X-Refnet-Webhook-Secret", "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return HttpResponse("Wrong or missing X-Refnet-Webhook-Secret.\n", status=403,
                            content_type="text/plain")
    from_number = request.POST.get("From", "").strip()
    if not from_number:
        return HttpResponse("From is required: the sender's phone number.\n", status=400,
                            content_type="text/plain")
    try:
        inbound = sms_inbound_record(from_number=from_number, body=request.POST.get("Body", ""))
    except ValidationError as exc:
        return HttpResponse(f"From: {' '.join(exc.messages)}\n", status=400,
                            content_type="text/plain")
    return HttpResponse(f"OK {inbound.action or 'recorded'}\n", content_type="text/plain")
