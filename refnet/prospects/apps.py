from django.apps import AppConfig


class ProspectsConfig(AppConfig):
    name = "refnet.prospects"
    verbose_name = "Prospects: the fit scorecard and the pipeline board"
