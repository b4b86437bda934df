from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "refnet.partners"
    label = "partners"
