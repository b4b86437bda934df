"""/api/: the typed REST API (django-ninja), built in api.py.

The API authenticates every operation itself, by API key (keys.py), so its views are
public to the session-based RoleRequiredMiddleware; the schema and docs are public too.
"""

from django.urls import path

from .api import api

patterns, app_name, namespace = api.urls
for pattern in patterns:
    pattern.callback.refnet_public = True  # checked by the API's own key auth instead

urlpatterns = [path("", (patterns, app_name, namespace))]
