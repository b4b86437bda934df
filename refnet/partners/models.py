"""Referral sources: partners (clinicians, practices, businesses, patients who refer...),
the people at them, and the search index that "Who can we thank?" reads."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class PartnerKind(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    MEDICAL_PRACTICE = "medical_practice", "Medical practice"
    LOCAL_BUSINESS = "local_business", "Local business"
    COMMUNITY_ORG = "community_org", "Community organization"
    PATIENT_REFERRER = "patient_referrer", "Patient referrer"
    MARKETING_CHANNEL = "marketing_channel", "Marketing channel"


# Covered entities: outcome updates with clinical detail may go back to them (COMPLIANCE.md).
CLINICAL_KINDS = frozenset({PartnerKind.CLINICIAN, PartnerKind.MEDICAL_PRACTICE})


class BusinessCategory(models.TextChoices):
    GYM_TRAINER = "gym_trainer", "Gym or trainer"
    SCHOOL_TEACHER = "school_teacher", "School or teacher"
    SHOP = "shop", "Shop"
    REALTOR = "realtor", "Realtor"
    CHAMBER = "chamber", "Chamber or business group"
    SPORTS_YOGA = "sports_yoga", "Sports or yoga"
    OTHER = "other", "Other"


class Stage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    CONTACTED = "contacted", "Contacted"
    ENGAGED = "engaged", "Engaged"
    ACTIVE = "active", "Active"
    DORMANT = "dormant", "Dormant"
    DECLINED = "declined", "Declined"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    FAX = "fax", "Fax"
    LETTER = "letter", "Letter"
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    PORTAL = "portal", "Portal"


def validate_npi(value: str) -> None:
    """An NPI is 10 digits whose last is a Luhn check digit over the prefix 80840."""
    if not (len(value) == 10 and value.isdigit()):
        raise ValidationError("An NPI is exactly 10 digits.")
    digits = [int(d) for d in "80840" + value]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    if total % 10:
        raise ValidationError("This NPI's check digit is wrong; please re-check the number.")


validate_taxonomy = RegexValidator(
    r"^[0-9]{3}[0-9A-Z]{6}X$", "A NUCC taxonomy code looks like 207X00000X (10 characters)."
)


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartnerQuerySet(models.QuerySet):
    def live(self) -> "PartnerQuerySet":
        """Partners that were neither merged into another nor removed."""
        return self.filter(merged_into__isnull=True, removed_at__isnull=True)

    def gone(self) -> "PartnerQuerySet":
        """Removed or merged partners: kept, with their history, for the "Removed and
        merged" view of the directory."""
        return self.filter(Q(merged_into__isnull=False) | Q(removed_at__isnull=False))


class Partner(models.Model):
    kind = models.CharField(max_length=20, choices=PartnerKind.choices)
    category = models.CharField(
        max_length=20, choices=BusinessCategory.choices, blank=True,
        help_text="For local businesses and community organizations.",
    )
    name = models.CharField(max_length=200)
    organization = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
        help_text="The practice or business a clinician or person belongs to.",
    )
    patient = models.ForeignKey(
        "referrals.Patient", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="referrer_profiles", help_text="For patient referrers: who they are.",
    )
    npi = models.CharField(
        "NPI", max_length=10, blank=True, validators=[validate_npi], db_index=True
    )
    taxonomy_code = models.CharField(
        "NUCC taxonomy", max_length=10, blank=True, validators=[validate_taxonomy]
    )
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    fax = models.CharField(max_length=30, blank=True)
    website = models.URLField(blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField(max_length=10, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.PROSPECT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="owned_partners", help_text="The accountable person for this partner.",
    )
    preferred_channel = models.CharField(
        max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    cadence_days = models.PositiveIntegerField(
        default=90, help_text="How often they want to hear from us, in days."
    )
    do_not_contact = models.BooleanField(default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="partners")
    notes = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    # Removed (services.partner_remove): hidden from the directory, search, intake and the
    # rules, restorable; who and why are in PartnerRemoval. Referrals keep pointing here.
    # (Only a nullable column here: SQLite adds it in place, without rebuilding the table
    # that the report rollups' triggers read.)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = PartnerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["kind", "stage"]),
            models.Index(fields=["owner", "stage"]),
            # The directory pages through live partners (merged_into and removed_at null)
            # by name: these walk them in order instead of sorting all of them for every
            # page (20,000: ~10 ms on SQLite, ~40 ms on PostgreSQL). One for each database:
            # PostgreSQL orders by an index only past "=" conditions, so it needs the partial
            # one; SQLite takes a partial index only with exact table statistics (else it
            # prefers merged_into's own index and sorts), so it needs the other.
            models.Index(fields=["merged_into", "removed_at", "name", "id"],
                         name="partner_live_by_name"),
            models.Index(fields=["name", "id"], name="partner_live_by_name_pg",
                         condition=Q(merged_into__isnull=True, removed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_clinical(self) -> bool:
        return self.kind in CLINICAL_KINDS

    def clean(self) -> None:
        if self.kind in (PartnerKind.LOCAL_BUSINESS, PartnerKind.COMMUNITY_ORG):
            if not self.category:
                self.category = BusinessCategory.OTHER
        elif self.category:
            raise ValidationError({"category": "Only local businesses and community "
                                               "organizations have a category."})
        if (self.npi or self.taxonomy_code) and self.kind not in CLINICAL_KINDS:
            raise ValidationError({"npi": "NPI and taxonomy are for clinicians and practices."})


class Contact(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=100, blank=True, help_text="e.g. Office manager")
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    is_primary = models.BooleanField(default=False)
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.partner.name})"


class PartnerAlias(models.Model):
    """Another name a partner is known by: a merged duplicate's name, a nickname, a typo
    the front desk keeps hearing. Search finds the partner by it."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)

    class Meta:
        unique_together = [("partner", "name")]

    def __str__(self) -> str:
        return self.name


class PartnerMerge(models.Model):
    """The record of a merge: who folded which duplicate into which survivor, and what moved."""

    survivor = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="merges_in")
    merged = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="merges_out")
    merged_name = models.CharField(max_length=200)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)
    referrals_moved = models.PositiveIntegerField(default=0)
    contacts_moved = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.merged_name} -> {self.survivor_id}"


class SearchEntry(models.Model):
    """One searchable name that leads to a partner: its own name, an alias, or a contact.

    `words` holds the normalized name, `sounds` its phonetic keys (Soundex and Metaphone of
    each word); see partners.search. SQLite indexes both with FTS5 (partners_searchfts),
    PostgreSQL with a GIN tsvector index (migration 0002).
    """

    class Source(models.TextChoices):
        NAME = "name", "Name"
        ALIAS = "alias", "Alias"
        CONTACT = "contact", "Contact"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="search_entries")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    label = models.CharField(max_length=200)
    words = models.CharField(max_length=300)
    sounds = models.CharField(max_length=300)

    def __str__(self) -> str:
        return self.label


class PartnerRemoval(models.Model):
    """One removal of a partner: who, when, why, and, once restored, who restored it when.
    Kept after a restore, so the partner's removals stay on the record."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="removals")
    removed_at = models.DateTimeField()
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-removed_at", "-id"]

    def __str__(self) -> str:
        return f"partner {self.partner_id} removed {self.removed_at:%Y-%m-%d}: {self.reason}"
