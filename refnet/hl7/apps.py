from django.apps import AppConfig


class Hl7Config(AppConfig):
    name = "refnet.hl7"
    verbose_name = "HL7 v2: REF^I12 over HTTP and MLLP"
