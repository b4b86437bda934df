"""/reports/digest/: the user's own digest settings, with a preview of the next one."""

from django.urls import path

from .views import digest

urlpatterns = [
    path("", digest.digest_settings, name="digest"),
]
