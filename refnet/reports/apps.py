from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "refnet.reports"
    verbose_name = "Reports and the dashboard"
