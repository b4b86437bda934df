from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "refnet.registry"
    verbose_name = "Provider registry (NPPES, NUCC) and the complementary-practice finder"
