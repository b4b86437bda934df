"""Settings > API keys: admins create, list and revoke the keys integrations use."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from refnet.accounts.permissions import Cap, requires

from .forms import ApiKeyForm
from .keys import api_key_create, api_key_revoke
from .models import ApiKey, ApiResource

FORM_TOKENS = "api_key_form_tokens"

NAV = "api_keys"


@requires(Cap.API_KEYS)
def key_list(request: HttpRequest) -> HttpResponse:
    keys = ApiKey.objects.select_related("created_by", "revoked_by").order_by(
        "revoked_at", "name", "id")
    labels = dict(ApiResource.choices)
    rows = [(k, [labels.get(r, r) for r in k.resources]) for k in keys]
    return render(request, "api/keys_list.html", {"nav": NAV, "rows": rows})


@requires(Cap.API_KEYS)
@never_cache
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    # Each form drawn gets a one-time token: posting it again (a reload of the "created"
    # page, a double click) makes no second key.
    issued = request.session.get(FORM_TOKENS, [])
    if request.method == "POST":
        token = request.POST.get("once", "")
        if token not in issued:
            messages.info(request, "That form was already used: its key exists (below). "
                          "Create another with New key if you need one.")
            return redirect("api_keys:list")
    if request.method == "POST" and form.is_valid():
        request.session[FORM_TOKENS] = [t for t in issued if t != request.POST["once"]]
        data = form.cleaned_data
        try:
            key, raw = api_key_create(
                name=data["name"], role=data["role"], resources=data["resources"],
                can_read=data["can_read"], can_write=data["can_write"], by=request.user,
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            # The one and only time the secret is shown: rendered, never stored or redirected.
            return render(request, "api/keys_created.html",
                          {"nav": NAV, "key": key, "raw": raw}, status=201)
    once = request.POST.get("once") if request.method == "POST" else secrets.token_urlsafe(16)
    if request.method != "POST":
        request.session[FORM_TOKENS] = (issued + [once])[-20:]
    status = 422 if request.method == "POST" else 200
    return render(request, "api/keys_form.html", {"nav": NAV, "form": form, "once": once},
                  status=status)


@requires(Cap.API_KEYS)
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    if request.method == "POST":
        if key.revoked_at is None:
            api_key_revoke(key=key, by=request.user)
            messages.success(request, f"Revoked {key.name} ({key.prefix}…): it no longer "
                             "works.")
        return redirect("api_keys:list")
    return render(request, "api/keys_revoke.html", {"nav": NAV, "key": key})
