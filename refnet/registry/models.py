"""Provider registry (NPPES, NUCC) and the complementary-practice finder."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models


class EntityType(models.IntegerChoices):
    INDIVIDUAL = 1, "Individual"
    ORGANIZATION = 2, "Organization"


class RegistryProvider(models.Model):
    """One NPPES record, trimmed to what the finder needs. Written in bulk by the importer
    with raw SQL (services/importer.py), so every column has a value or a default there."""

    # The NPI as the integer primary key (NPIs never start with 0). On SQLite the column
    # is "bigint PRIMARY KEY", so the table keeps its own rowid beside a unique index on
    # NPI; making NPI the rowid ("integer PRIMARY KEY") was measured and saved nothing
    # (upserts of 300,000 rows in NPI order: 2.0 us a row either way), so it stays.
    npi = models.BigIntegerField("NPI", primary_key=True)
    entity_type = models.PositiveSmallIntegerField(choices=EntityType.choices)
    name = models.CharField(max_length=200, help_text="As shown: 'First Last, CRED' or the "
                                                      "organization's legal name.")
    credential = models.CharField(max_length=40, blank=True)
    address_line = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip5 = models.CharField("ZIP", max_length=5, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    primary_taxonomy = models.CharField(max_length=10, blank=True)
    other_taxonomies = models.CharField(max_length=180, blank=True,
                                        help_text="The other taxonomy codes, space separated.")
    latitude = models.FloatField(null=True, blank=True, help_text="The ZIP code's centre.")
    longitude = models.FloatField(null=True, blank=True)
    site_key = models.CharField(max_length=140, blank=True,
                                help_text="ZIP + the practice address, normalized: who "
                                          "shares a practice site.")
    org_size = models.PositiveIntegerField(
        default=1, help_text="Individual providers at the same practice site (after import).")
    deactivated = models.BooleanField(default=False)

    class Meta:
        # One secondary index only (each one costs the import dearly): the finder looks
        # around each location by a latitude/longitude box.
        indexes = [models.Index(fields=["latitude", "longitude"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.npi})"


class Taxonomy(models.Model):
    """A NUCC Health Care Provider Taxonomy code."""

    code = models.CharField(max_length=10, primary_key=True)
    grouping = models.CharField(max_length=200, blank=True)
    classification = models.CharField(max_length=200, blank=True)
    specialization = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["classification", "specialization"]
        verbose_name_plural = "taxonomies"

    def __str__(self) -> str:
        return self.display_name or self.code


taxonomy_prefix = RegexValidator(
    r"^[0-9]{3}[0-9A-Z]{0,6}X?$",
    "Enter a NUCC taxonomy code (207X00000X) or its beginning (207Q: all of family "
    "medicine).")


class ComplementaryPair(models.Model):
    """'Clinicians of this taxonomy send patients to practices offering that': the finder
    scores a registry provider by the heaviest pair that matches them."""

    taxonomy = models.CharField(
        max_length=10, validators=[taxonomy_prefix],
        help_text="A taxonomy code, or its first characters to cover a whole "
                  "classification (207Q = family medicine, every specialization).")
    label = models.CharField(max_length=100, help_text="What they are, e.g. Physical therapy.")
    practice_offers = models.CharField(
        max_length=60, blank=True,
        help_text="Applies when one of the practice's active service lines has this in its "
                  "name (e.g. orthop). Blank: whatever the practice offers.")
    weight = models.DecimalField(
        max_digits=3, decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="How good a fit, 0 to 1.")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["practice_offers", "-weight", "label"]
        constraints = [models.UniqueConstraint(fields=["taxonomy", "practice_offers"],
                                               name="registry_pair_unique")]

    def __str__(self) -> str:
        return f"{self.label} ↔ {self.practice_offers or 'any service line'} ({self.weight})"


class ImportKind(models.TextChoices):
    NPPES = "nppes", "NPPES registry"
    NUCC = "nucc", "NUCC taxonomy"


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Interrupted"
    FAILED = "failed", "Failed"
    DONE = "done", "Done"


ERRORS_KEPT = 1000


class RegistryImport(models.Model):
    """One import of a registry file, and its checkpoint: the byte offset and line after
    the last batch committed, saved in the same transaction as that batch's rows."""

    kind = models.CharField(max_length=8, choices=ImportKind.choices, default=ImportKind.NPPES)
    file_name = models.CharField(max_length=255)
    path = models.CharField(max_length=500, blank=True)
    size = models.BigIntegerField(default=0)
    fingerprint = models.CharField(
        max_length=64, blank=True,
        help_text="sha256 of the size, first and last MiB: recognizes the same file when "
                  "resuming without reading all of it.")
    states = models.CharField(max_length=200, blank=True, help_text="Kept states, e.g. CO WY.")
    strict = models.BooleanField(default=False)
    bytes_done = models.BigIntegerField(default=0)
    lines_done = models.BigIntegerField(default=0)
    rows_read = models.BigIntegerField(default=0)
    rows_kept = models.BigIntegerField(default=0)
    rows_skipped = models.BigIntegerField(default=0, help_text="Malformed rows left out.")
    rows_deactivated = models.BigIntegerField(default=0)
    error_count = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True,
                              help_text=f"[line, field, message], the first {ERRORS_KEPT}.")
    status = models.CharField(max_length=8, choices=ImportStatus.choices,
                              default=ImportStatus.RUNNING)
    message = models.TextField(blank=True)
    started_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return min(99, int(self.bytes_done * 100 / self.size)) if self.size else 0
