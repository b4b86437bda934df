from django.apps import AppConfig


class UpdatesConfig(AppConfig):
    name = "refnet.updates"
    verbose_name = "Updates to partners about treatments, prices and products"
