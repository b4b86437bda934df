from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "refnet.accounts"
    label = "accounts"
