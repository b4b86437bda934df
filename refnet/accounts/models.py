from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    COORDINATOR = "coordinator", "Referral coordinator"
    OUTREACH = "outreach", "Outreach / liaison"
    MANAGER = "manager", "Practice manager"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FRONT_DESK)
    default_location = models.ForeignKey(
        "practice.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class AuditAction(models.TextChoices):
    VIEW = "view", "View"
    QUERY = "query", "Query"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    PRINT = "print", "Print"
    EXPORT = "export", "Export"


class AuditEvent(models.Model):
    """One access to patient data: who, which patient, what, when, from where.

    Rows are only ever inserted (see accounts.audit); the patient is kept as a bare id so
    that the trail outlives the patient row.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    patient_id = models.BigIntegerField(null=True, db_index=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    what = models.CharField(max_length=200, help_text="The data touched, e.g. referral:42")
    address = models.GenericIPAddressField(null=True)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} patient {self.patient_id}"
