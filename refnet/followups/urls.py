"""/inbox/: the follow-ups inbox (views/inbox.py) and the rule settings (views/rules.py)."""

from django.urls import include, path

from . import urls_inbox, urls_rules

app_name = "followups"
urlpatterns = [
    path("", include(urls_inbox)),
    path("rules/", include(urls_rules)),
]
