"""Sign-in hardening that applies to every request.

- SecondFactorMiddleware: a manager or admin (or an optional enrollee) whose session has
  only passed the password reaches nothing but the code step, enrolment and log-out.
- IdleTimeoutMiddleware: after REFNET_IDLE_TIMEOUT_MINUTES without a request the session
  ends; the last-seen time is written at most once a minute, not on every request.
- PermissionsPolicyMiddleware: the Permissions-Policy header (Django has no setting for it).
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from .policy import SESSION_OPTED_IN, role_requires_second_factor

# Paths whose clients read JSON, not pages: they get a 403 with a code instead of a redirect.
JSON_PREFIXES = ("/api/", "/fhir/", "/hl7/")
LAST_SEEN = "refnet_last_seen"
LAST_SEEN_REFRESH_SECONDS = 60


def exempt(view):
    """Mark a view an unverified session may still open (the code step, enrolment, log-out)."""
    view.refnet_second_factor_exempt = True
    return view


def _go(request, url: str) -> HttpResponse:
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url  # htmx then loads the page in full
        return response
    return redirect(url)


def _with_next(url_name: str, request) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}"


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or getattr(view_func, "refnet_second_factor_exempt", False):
            return None
        if user.is_verified():
            return None
        if not role_requires_second_factor(user):
            if not request.session.get(SESSION_OPTED_IN):
                return None
            if not user_has_device(user):  # their device was reset: nothing left to ask
                del request.session[SESSION_OPTED_IN]
                return None
        if request.path.startswith(JSON_PREFIXES):
            return JsonResponse({"code": "second_factor_required",
                                 "message": "Finish signing in with your second factor."},
                                status=403)
        step = "twofactor:verify" if user_has_device(user) else "twofactor:enroll"
        return _go(request, _with_next(step, request))


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timeout = settings.REFNET_IDLE_TIMEOUT_MINUTES * 60
        if timeout and request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN)
            if last_seen is not None and now - last_seen > timeout:
                logout(request)
                minutes = settings.REFNET_IDLE_TIMEOUT_MINUTES
                messages.info(request, f"You were signed out after {minutes} minutes without "
                                       "activity. Please log in again.")
                if request.path.startswith(JSON_PREFIXES):
                    return JsonResponse({"code": "session_expired",
                                         "message": "Signed out after inactivity."}, status=401)
                # A GET comes back to where it was; a POST cannot be replayed after log-in.
                if request.method == "GET":
                    return _go(request, _with_next("login", request))
                return _go(request, reverse("login"))
            if last_seen is None or now - last_seen >= LAST_SEEN_REFRESH_SECONDS:
                request.session[LAST_SEEN] = now
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.REFNET_PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Permissions-Policy", self.policy)
        return response
