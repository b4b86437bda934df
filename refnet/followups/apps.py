from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "refnet.followups"
    verbose_name = "Follow-up rules and inbox"
