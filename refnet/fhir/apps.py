from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "refnet.fhir"
    verbose_name = "FHIR R4: ServiceRequest and Task"
