"""CSV and XLSX import: saved column mappings per source system, and one job per file."""

from django.conf import settings
from django.db import models


class ImportKind(models.TextChoices):
    PARTNERS = "partners", "Partners"
    REFERRALS = "referrals", "Referrals"


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all", "All or nothing"
    GOOD_ROWS = "good", "Import the good rows"


class JobStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    CHECKED = "checked", "Checked (dry run)"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Nothing imported"


class ImportMapping(models.Model):
    """Which column holds which field, remembered per source system and kind, so the next
    file from the same system comes with the mapping filled in."""

    source = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    mapping = models.JSONField(default=dict, help_text="target field -> column header")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "kind"],
                                               name="import_mapping_unique")]
        ordering = ["source", "kind"]

    def __str__(self) -> str:
        return f"{self.source} ({self.kind})"


REPORT_CAP = 500  # problems kept in the job's JSON report; the error CSV has them all


class ImportJob(models.Model):
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    source = models.CharField(max_length=100)
    file_name = models.CharField(max_length=255)
    path = models.CharField(max_length=500)
    size = models.BigIntegerField(default=0)
    sheet = models.CharField(max_length=100, blank=True)
    mapping = models.JSONField(default=dict)
    options = models.JSONField(default=dict, help_text="date orders, create_sources, ...")
    decisions = models.JSONField(default=dict, help_text="file line -> merge/skip/new")
    mode = models.CharField(max_length=4, choices=ImportMode.choices,
                            default=ImportMode.ALL_OR_NOTHING)
    status = models.CharField(max_length=10, choices=JobStatus.choices,
                              default=JobStatus.UPLOADED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_ok = models.PositiveIntegerField(default=0)
    rows_error = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    report = models.JSONField(default=dict, help_text="problems (capped), duplicates, counts")
    errors_path = models.CharField(max_length=500, blank=True)
    message = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.file_name}"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        if self.size and self.bytes_done:
            return min(99, int(self.bytes_done * 100 / self.size))
        return 0
