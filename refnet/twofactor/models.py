from django.conf import settings
from django.db import models


class SecondFactorAction(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled an authenticator app"
    BACKUP_CODES = "backup_codes", "Made new backup codes"
    RESET = "reset", "Second factor reset"


class SecondFactorEvent(models.Model):
    """A change to someone's second factor: who it was for, who did it, when, from where.

    Rows are only inserted (twofactor.services); codes and secrets are never stored here.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="second_factor_events")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    action = models.CharField(max_length=20, choices=SecondFactorAction.choices)
    reason = models.CharField(max_length=300, blank=True)
    address = models.GenericIPAddressField(null=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action}"
