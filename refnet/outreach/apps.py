from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "refnet.outreach"
    verbose_name = "Outreach: playbooks, events and updates to partners"
