from django.apps import AppConfig


class TwoFactorConfig(AppConfig):
    name = "refnet.twofactor"
    label = "twofactor"
    verbose_name = "Two-step sign-in"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the login receivers)
