"""API keys: one per integration (an EHR, an interface engine, a script).

The key itself is shown once, when it is created; only its SHA-256 is stored. Keys are
32 random bytes, so a fast hash is enough (a slow password hash would add its cost to
every request without making a random key any harder to guess). A key acts with a role,
so the same capability table (accounts.permissions) decides what it may do, and it is
further narrowed by scope: read and/or write, and which resources.
"""

from django.conf import settings
from django.db import models

from refnet.accounts.models import Role


class ApiResource(models.TextChoices):
    PARTNERS = "partners", "Partners and contacts"
    REFERRALS = "referrals", "Referrals"
    FOLLOWUPS = "followups", "Follow-ups"
    REPORTS = "reports", "Report figures"
    FHIR = "fhir", "FHIR ServiceRequest and Task"
    HL7 = "hl7", "HL7 v2 messages"
    IMPORTS = "imports", "File imports"


class ApiKey(models.Model):
    name = models.CharField(max_length=100, help_text="Which integration uses it.")
    prefix = models.CharField(max_length=12, unique=True, editable=False,
                              help_text="Shown in lists so a key can be recognised.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COORDINATOR,
                            help_text="The key may do what a user with this role may do.")
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(default=False)
    resources = models.JSONField(default=list, help_text="ApiResource values it may touch.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_from = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def audit_name(self) -> str:
        """What the audit log and history record as the actor."""
        return f"api-key:{self.prefix}:{self.name}"[:150]
