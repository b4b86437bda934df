from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "refnet.imports"
    verbose_name = "CSV and XLSX import"
