"""/messages/: the outbox and dead letters (views/outbox.py), templates (views/templates.py)
and composing a message (views/compose.py)."""

from django.urls import include, path

from . import urls_compose, urls_outbox, urls_templates

app_name = "outbox"
urlpatterns = [
    path("", include(urls_outbox)),
    path("templates/", include(urls_templates)),
    path("compose/", include(urls_compose)),
]
