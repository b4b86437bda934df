from django.apps import AppConfig


class GrowthConfig(AppConfig):
    name = "refnet.growth"
    verbose_name = "The growth plan"
