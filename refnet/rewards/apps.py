from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "refnet.rewards"
    verbose_name = "Appreciation and rewards within legal caps"
