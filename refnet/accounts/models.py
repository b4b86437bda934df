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

    Append-only and tamper-evident (docs/audit.md): rows are only inserted, through
    accounts.audit.audit_append, each chained to the row before by `hash` (SHA-256 over
    its fields and `prev_hash`, see accounts.chain); database triggers refuse UPDATE and
    DELETE. The patient is kept as a bare id so that the trail outlives the patient row;
    a user with a trail cannot be deleted (deactivate them instead).
    """

    at = models.DateTimeField(db_index=True)
    # No database constraint on PostgreSQL (migration 0006: its check locked the user's
    # row for every audit row); PROTECT is Django's, and the username is on every row.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False,
    )
    username = models.CharField(max_length=150)
    patient_id = models.BigIntegerField(null=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    what = models.CharField(max_length=200, help_text="The data touched, e.g. referral:42")
    address = models.GenericIPAddressField(null=True)
    path = models.CharField(max_length=300, blank=True)
    prev_hash = models.CharField(max_length=64, default="")
    hash = models.CharField(max_length=64, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The audit page filters by one of these and pages newest first by id.
            models.Index(fields=["patient_id", "-id"], name="audit_patient_id"),
            models.Index(fields=["username", "-id"], name="audit_username_id"),
            models.Index(fields=["action", "-id"], name="audit_action_id"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} patient {self.patient_id}"


class AuditChainHead(models.Model):
    """The one row that says where the audit chain ends. Appending locks it (SELECT ... FOR
    UPDATE), so appends are serialized and the chain never forks; `refnet audit verify`
    checks that the last row and the count are the ones recorded here, so cutting rows off
    the end is seen too."""

    last_id = models.BigIntegerField(null=True)
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit chain head: row {self.last_id}, {self.count} rows"
