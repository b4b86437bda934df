"""/api/: the typed REST API (django-ninja), built in api.py.

The API authenticates every operation itself, by API key (keys.py), so its views are
public to the session-based RoleRequiredMiddleware; the schema and docs are public too.
"""

from pathlib import Path

import ninja
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from refnet.accounts.permissions import public

from .api import api

# The Swagger UI files that ship with django-ninja (ninja is not an installed app, so
# staticfiles does not find them): served from the package, so /api/docs works offline.
DOCS_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
}
ASSET_DIR = Path(ninja.__file__).parent / "static" / "ninja"


@public
def docs_asset(request: HttpRequest, name: str) -> HttpResponse:
    if name not in DOCS_ASSETS:
        return JsonResponse({"code": "not_found", "message": "No such file."}, status=404)
    response = FileResponse((ASSET_DIR / name).open("rb"), content_type=DOCS_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


@public
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Anything else under /api/ answers in the API's own error format."""
    return JsonResponse({"code": "not_found", "message": f"No API endpoint at /api/{rest}."},
                        status=404)


# Not `app_name`: Django would read that module global as this URLconf's namespace.
all_patterns, ninja_app, ninja_namespace = api.urls
# ninja yields one pattern per operation, so GET and POST on one path come twice with the
# same view (it dispatches on the method); one pattern per path is enough to route.
ninja_patterns, seen = [], set()
for pattern in all_patterns:
    if str(pattern.pattern) not in seen:
        seen.add(str(pattern.pattern))
        pattern.callback.refnet_public = True  # checked by the API's own key auth instead
        ninja_patterns.append(pattern)

urlpatterns = [
    path("docs/assets/<str:name>", docs_asset, name="api_docs_asset"),
    path("", (ninja_patterns, ninja_app, ninja_namespace)),
    path("<path:rest>", not_found),
]
