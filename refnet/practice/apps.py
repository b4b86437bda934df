from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "refnet.practice"
    label = "practice"
