"""Links that people outside the practice open: unsubscribe, provider webhooks."""

from django.urls import path  # noqa: F401

app_name = "public"
urlpatterns: list = []
