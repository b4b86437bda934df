from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "refnet.outbox"
    verbose_name = "Messages and outbox"
