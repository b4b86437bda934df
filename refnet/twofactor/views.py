"""The second step of signing in, enrolling an authenticator app, backup codes, and the
admin's reset for a lost phone. Writes are in services.py."""

import base64
from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address as client_ip
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from refnet.accounts.models import User
from refnet.accounts.permissions import Cap, public, requires

from .forms import CodeForm, ResetForm
from .middleware import exempt
from .models import SecondFactorEvent
from .policy import role_requires_second_factor
from .services import (
    backup_codes_issue,
    second_factor_reset,
    totp_device_pending,
    totp_enroll_confirm,
)
from .signals import sign_in_completed

BACKUP_CODES_ONCE = "refnet_backup_codes_once"


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return reverse("home")


def _credentials(user: User) -> dict:
    return {"username": user.get_username()}


def _locked_out(request: HttpRequest) -> HttpResponse | None:
    """The same lockout as the password step: failed codes count against username+address."""
    credentials = _credentials(request.user)
    if AxesProxyHandler.is_allowed(request, credentials):
        return None
    logout(request)
    return get_lockout_response(request, credentials=credentials)


def _code_failed(request: HttpRequest, form: CodeForm, wait_until=None) -> HttpResponse | None:
    credentials = _credentials(request.user)
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if getattr(request, "axes_locked_out", False):
        logout(request)
        return get_lockout_response(request, credentials=credentials)
    if wait_until is not None:
        # django-otp doubles the wait after each wrong code; the code was not even checked.
        form.add_error("code", "Too many wrong codes: the next try is possible from "
                               f"{timezone.localtime(wait_until):%H:%M:%S}.")
    else:
        form.add_error("code", "That code did not work. Check the time on your phone and "
                               "try again.")
    return None


def _wait_until(device):
    """When a throttled device accepts a try again, or None if it does now."""
    allowed, data = device.verify_is_allowed()
    return None if allowed else (data or {}).get("locked_until")


def _matching_device(user: User, code: str):
    """A 6-digit code is checked against the authenticator app, anything else against the
    backup codes; each device throttles its own failures (django-otp). Returns the device
    that accepted the code, else None and when the next try is possible (if throttled)."""
    model = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    wait_until = None
    with transaction.atomic():
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            wait_until = wait_until or _wait_until(device)
            if device.verify_token(code):
                return device, None
    return None, wait_until


@public
@exempt
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect(f"{reverse('twofactor:enroll')}?{request.GET.urlencode()}")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if (locked := _locked_out(request)) is not None:
            return locked
        if form.is_valid():
            device, wait_until = _matching_device(user, form.cleaned_data["code"])
            if device is not None:
                request.session.cycle_key()
                otp_login(request, device)
                sign_in_completed(request, user)
                if isinstance(device, StaticDevice):
                    left = StaticToken.objects.filter(device=device).count()
                    messages.warning(request, f"You used a backup code; {left} left. "
                                     "Make new ones under Two-step sign-in if you run low.")
                return redirect(_next_url(request))
            if (locked := _code_failed(request, form, wait_until)) is not None:
                return locked
    return render(request, "twofactor/verify.html", {
        "form": form, "next": _next_url(request), "second_factor_pending": True})


@public
@exempt
@login_required
def enroll(request: HttpRequest) -> HttpResponse:
    user = request.user
    has_app = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if has_app and not user.is_verified():
        # Replacing an enrolled app needs that app first (or an admin's reset).
        return redirect(f"{reverse('twofactor:verify')}?{request.GET.urlencode()}")
    device = totp_device_pending(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if (locked := _locked_out(request)) is not None:
            return locked
        if form.is_valid():
            wait_until = _wait_until(device)
            codes = totp_enroll_confirm(device=device, token=form.cleaned_data["code"],
                                        address=client_ip(request))
            if codes is not None:
                device.refresh_from_db()
                request.session.cycle_key()
                otp_login(request, device)
                sign_in_completed(request, user)
                request.session[BACKUP_CODES_ONCE] = codes
                return redirect(f"{reverse('twofactor:backup_codes')}?"
                                f"{urlencode({'next': _next_url(request)})}")
            if (locked := _code_failed(request, form, wait_until)) is not None:
                return locked
    uri = device.config_url
    return render(request, "twofactor/enroll.html", {
        "form": form, "next": _next_url(request), "uri": uri,
        "secret": base64.b32encode(device.bin_key).decode(),
        "qr_svg": segno.make(uri, error="m").svg_inline(scale=4, dark="#1d2430"),
        "required": role_requires_second_factor(user), "replacing": has_app,
        "second_factor_pending": not user.is_verified(),
    })


@public
@login_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    """New backup codes, shown once: the page reads them out of the session and forgets."""
    codes = request.session.pop(BACKUP_CODES_ONCE, None)
    return render(request, "twofactor/backup_codes.html",
                  {"codes": codes, "next": _next_url(request)})


@public
@login_required
def security(request: HttpRequest) -> HttpResponse:
    """One's own two-step sign-in: status, backup codes left, recent changes."""
    user = request.user
    app = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    codes_left = StaticToken.objects.filter(device__user=user).count()
    return render(request, "twofactor/security.html", {
        "app": app, "codes_left": codes_left, "required": role_requires_second_factor(user),
        "events": SecondFactorEvent.objects.filter(user=user).select_related("by")[:10],
    })


@public
@login_required
@require_POST
def backup_codes_new(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():
        messages.error(request, "Set up an authenticator app first.")
        return redirect("twofactor:security")
    request.session[BACKUP_CODES_ONCE] = backup_codes_issue(user=request.user,
                                                            address=client_ip(request))
    return redirect(f"{reverse('twofactor:backup_codes')}?"
                    f"{urlencode({'next': reverse('twofactor:security')})}")


@requires(Cap.ADMIN)
def users(request: HttpRequest) -> HttpResponse:
    """Admins: who has a second factor, and a reset for a lost phone (recorded)."""
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    people = [(u, u.pk in enrolled, role_requires_second_factor(u))
              for u in User.objects.filter(is_active=True).order_by("username")]
    return render(request, "twofactor/users.html", {
        "people": people, "form": ResetForm(),
        "events": SecondFactorEvent.objects.select_related("user", "by")[:50],
    })


@requires(Cap.ADMIN)
@require_POST
def user_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    target = get_object_or_404(User, pk=user_id)
    form = ResetForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the second factor is reset.")
        return redirect("twofactor:users")
    second_factor_reset(user=target, by=request.user, reason=form.cleaned_data["reason"],
                        address=client_ip(request))
    messages.success(request, f"{target}'s second factor was reset: they set up a new "
                              "authenticator app at their next log-in.")
    return redirect("twofactor:users")
