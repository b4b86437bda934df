"""/settings/api-keys/: admins create, list and revoke API keys."""

from django.urls import path  # noqa: F401

app_name = "api_keys"
urlpatterns: list = []
