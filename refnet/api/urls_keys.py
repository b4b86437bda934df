"""/settings/api-keys/: admins create, list and revoke API keys."""

from django.urls import path

from . import views_keys

app_name = "api_keys"
urlpatterns = [
    path("", views_keys.key_list, name="list"),
    path("new/", views_keys.key_create, name="create"),
    path("<int:pk>/revoke/", views_keys.key_revoke, name="revoke"),
]
