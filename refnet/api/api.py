"""The NinjaAPI instance: key auth on every operation, JSON errors, the resource routers.

OpenAPI 3.1 at /api/openapi.json, its Swagger UI at /api/docs (served from the files that
ship with django-ninja, so the docs work without internet access).
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase

from . import errors
from .auth import KEY_AUTH
from .routers import followups, partners, referrals, reports


class LocalSwagger(DocsBase):
    """Swagger UI from the package's own static files (no CDN)."""

    def render_page(self, request: HttpRequest, api: "NinjaAPI", **kwargs: Any) -> HttpResponse:
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout",
                    "deepLinking": True}
        return render(request, "api/docs.html", {
            "api": api, "swagger_settings": settings,
        })


DESCRIPTION = """The refnet REST API: partners and contacts, referrals, follow-ups and report
figures. Authenticate with an API key (Settings > API keys) sent as
`Authorization: Bearer rn_...` or `X-API-Key: rn_...`. Errors are JSON:
`{"code": "...", "message": "...", "errors": [{"field", "code", "message"}]}`."""

api = NinjaAPI(title="refnet API", version="1", urls_namespace="api", auth=KEY_AUTH,
               docs=LocalSwagger(), description=DESCRIPTION)
errors.install(api)
api.add_router("", partners.router)
api.add_router("", referrals.router)
api.add_router("", followups.router)
api.add_router("", reports.router)
