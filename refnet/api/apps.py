from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "refnet.api"
    verbose_name = "REST API and API keys"
