from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "refnet.referrals"
    label = "referrals"
