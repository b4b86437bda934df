"""/reports/: the dashboard (views/dashboard.py), the reports and their exports
(views/reports.py) and the digest settings (views/digest.py)."""

from django.urls import include, path

from . import urls_dashboard, urls_digest, urls_reports

app_name = "reports"
urlpatterns = [
    path("", include(urls_dashboard)),
    path("r/", include(urls_reports)),
    path("digest/", include(urls_digest)),
]
