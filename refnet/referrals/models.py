"""Patients (synthetic PHI only in this repository), referrals and their timeline."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Patient(models.Model):
    mrn = models.CharField("MRN", max_length=30, blank=True, db_index=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(
        max_length=1, blank=True, choices=[("F", "Female"), ("M", "Male"), ("X", "Other")]
    )
    phone = models.CharField(max_length=30, blank=True)
    phone_digits = models.CharField(max_length=15, blank=True, db_index=True, editable=False)
    email = models.EmailField(blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField(max_length=10, blank=True)
    # Lower-cased, accent-free copies for prefix search (see referrals.selectors).
    last_name_key = models.CharField(max_length=100, editable=False)
    first_name_key = models.CharField(max_length=100, editable=False)
    # Consents and flags that decide what may be said and given (COMPLIANCE.md).
    may_thank_referrer = models.BooleanField(
        "may we thank your referrer", default=False,
        help_text="Written authorization to tell a non-clinical referrer that this patient came.",
    )
    may_thank_referrer_at = models.DateTimeField(null=True, blank=True)
    sms_consent = models.BooleanField("SMS consent", default=False)
    federal_program_beneficiary = models.BooleanField(
        "Medicare/Medicaid beneficiary", default=False
    )
    notes = models.TextField(blank=True, help_text="Clinical notes; hidden from outreach.")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(excluded_fields=["last_name_key", "first_name_key",
                                                 "phone_digits"])

    class Meta:
        ordering = ["last_name", "first_name"]
        # The desk's name search (referrals.selectors.patients_find): one index per side of
        # "last or first name starts with", each in the order the options are listed.
        indexes = [
            models.Index(fields=["last_name_key", "first_name_key", "id"],
                         name="patient_last_first_id"),
            models.Index(fields=["first_name_key", "last_name_key", "id"],
                         name="patient_first_last_id"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def save(self, *args, **kwargs):
        from refnet.partners.search import fold

        self.last_name_key = fold(self.last_name)
        self.first_name_key = fold(self.first_name)
        self.phone_digits = "".join(c for c in self.phone if c.isdigit())[-10:]
        super().save(*args, **kwargs)


class ReferralStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    CONTACTED = "contacted", "Contacted"
    SCHEDULED = "scheduled", "Scheduled"
    SEEN = "seen", "Seen"
    CLOSED_WON = "closed_won", "Closed: became a patient"
    CLOSED_LOST = "closed_lost", "Closed: did not come"


# Allowed moves, next to the statuses they govern. A scheduled patient may need a new
# appointment (back to contacted); closed referrals stay closed.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    ReferralStatus.RECEIVED: (ReferralStatus.CONTACTED, ReferralStatus.SCHEDULED,
                              ReferralStatus.CLOSED_LOST),
    ReferralStatus.CONTACTED: (ReferralStatus.SCHEDULED, ReferralStatus.CLOSED_LOST),
    ReferralStatus.SCHEDULED: (ReferralStatus.SEEN, ReferralStatus.CONTACTED,
                               ReferralStatus.CLOSED_LOST),
    ReferralStatus.SEEN: (ReferralStatus.CLOSED_WON, ReferralStatus.CLOSED_LOST),
    ReferralStatus.CLOSED_WON: (),
    ReferralStatus.CLOSED_LOST: (),
}
CLOSED_STATUSES = (ReferralStatus.CLOSED_WON, ReferralStatus.CLOSED_LOST)
OPEN_STATUSES = (ReferralStatus.RECEIVED, ReferralStatus.CONTACTED, ReferralStatus.SCHEDULED,
                 ReferralStatus.SEEN)


class ArrivalChannel(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    PHONE = "phone", "Phone"
    FAX = "fax", "Fax"
    WEB_FORM = "web_form", "Web form"
    EMAIL = "email", "Email"
    FHIR = "fhir", "FHIR"
    HL7V2 = "hl7v2", "HL7 v2"
    IMPORT = "import", "File import"


class SourceStatus(models.TextChoices):
    KNOWN = "known", "Known"
    UNRESOLVED = "unresolved", "Unresolved: ask again"


class Outcome(models.TextChoices):
    BECAME_PATIENT = "became_patient", "Became a patient"
    NOT_A_CANDIDATE = "not_a_candidate", "Not a candidate"
    NO_RESPONSE = "no_response", "No response"
    CHOSE_ELSEWHERE = "chose_elsewhere", "Chose another provider"
    INSURANCE = "insurance", "Insurance or cost"
    NO_SHOW = "no_show", "Did not show"
    OTHER = "other", "Other"


LIVE = Q(removed_at__isnull=True)  # not removed as entered by mistake


class ReferralQuerySet(models.QuerySet):
    def live(self) -> "ReferralQuerySet":
        return self.filter(LIVE)

    def removed(self) -> "ReferralQuerySet":
        return self.filter(removed_at__isnull=False)


class LiveReferralManager(models.Manager.from_queryset(ReferralQuerySet)):  # type: ignore[misc]
    """Referrals in use: a removed one (entered by mistake) is left out of every list,
    board, report, rule and API read that goes through Referral.objects or a related
    manager (patient.referrals, partner.referrals), so a new query cannot forget it."""

    def get_queryset(self) -> ReferralQuerySet:
        return super().get_queryset().filter(LIVE)


# A referral that has not been removed (see ReferralRemoval): what every list reads.
LIVE = Q(removed_at__isnull=True)


class Referral(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    # Indexed by referral_source_received below (it starts with this column).
    source_partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT,
        related_name="referrals", db_index=False,
    )
    source_contact = models.ForeignKey(
        "partners.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_status = models.CharField(
        max_length=10, choices=SourceStatus.choices, default=SourceStatus.KNOWN
    )
    source_text = models.CharField(
        max_length=200, blank=True, help_text="What the patient said, in their words."
    )
    location = models.ForeignKey(
        "practice.Location", on_delete=models.PROTECT, related_name="referrals"
    )
    service_line = models.ForeignKey(
        "practice.ServiceLine", null=True, blank=True, on_delete=models.PROTECT,
        related_name="referrals",
    )
    channel = models.CharField(
        max_length=12, choices=ArrivalChannel.choices, default=ArrivalChannel.FRONT_DESK
    )
    received_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=ReferralStatus.choices, default=ReferralStatus.RECEIVED
    )
    status_changed_at = models.DateTimeField()
    # For reports (reports.rollup): the practice-local month it was received, as YYYYMM,
    # and when it first reached each stage. Set by referrals.services (and refnet seed);
    # a later stage counts as reaching the earlier ones (booked on the first call).
    received_month = models.PositiveIntegerField(default=0, editable=False)
    contacted_at = models.DateTimeField(null=True, blank=True, editable=False)
    scheduled_at = models.DateTimeField(null=True, blank=True, editable=False)
    seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="assigned_referrals",
    )
    # Clinical fields: never shown to outreach.
    reason = models.TextField(blank=True)
    diagnosis = models.CharField(max_length=200, blank=True, help_text="e.g. ICD-10 M54.5")
    priority = models.CharField(
        max_length=8, default="routine",
        choices=[("routine", "Routine"), ("urgent", "Urgent"), ("stat", "STAT")],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Removed (services.referral_remove: a duplicate, the wrong patient, a test entry):
    # out of every list, board, report and rollup, findable on the removed page and by its
    # own URL for managers. Who, when and why are in ReferralRemoval. Nullable, so SQLite
    # adds the column without rebuilding the table the rollup triggers are on.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)

    # objects: live referrals only; all_objects: every row (the removed page, the
    # remove / restore services, FHIR reads by id, history).
    objects = LiveReferralManager()
    all_objects = ReferralQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]
        base_manager_name = "all_objects"
        # Every read through Referral.objects says removed_at IS NULL. The list, board and
        # report indexes are partial (live referrals only) with removed_at as their last
        # column: SQLite then counts from the index alone (it does not take a partial
        # index's WHERE as covering the column), and the order columns come before it,
        # since PostgreSQL does not take "removed_at IS NULL" as an equality for ordering
        # (with removed_at in the middle it sorted every referral of a status for each
        # list page: 25 ms -> 1 ms at 400,000). "id" is in them for the (-received_at,
        # -id) order. The source partner's index is not partial: merges and the rollup
        # triggers read a partner's referrals, removed ones too; with removed_at in it,
        # "Who can we thank?"'s count of each candidate's referrals of the last year reads
        # the index alone (PostgreSQL: 3.5 -> 0.7 ms a search, ~1,300 heap rows no more).
        indexes = [
            models.Index(fields=["source_partner", "received_at", "removed_at"],
                         name="referral_source_received"),
            models.Index(fields=["status", "received_at", "id", "removed_at"],
                         name="referral_live_status_id", condition=LIVE),
            models.Index(fields=["received_at", "id", "removed_at"],
                         name="referral_live_received_id", condition=LIVE),
            models.Index(fields=["location", "received_at", "id", "removed_at"],
                         name="referral_live_location_id", condition=LIVE),
            # The pipeline board's closed columns: closed lately, newest first.
            models.Index(fields=["status", "status_changed_at", "id", "removed_at"],
                         name="referral_live_closed_id", condition=LIVE),
            models.Index(
                fields=["received_at", "id", "removed_at"], name="referral_live_unresolved_id",
                condition=LIVE & Q(source_status="unresolved"),
            ),
        ]

    def __str__(self) -> str:
        return f"Referral #{self.pk}"

    def allowed_next(self) -> tuple[str, ...]:
        return TRANSITIONS[self.status]


class ReferralRemoval(models.Model):
    """One removal of a referral: who, when, why, and, once restored, who restored it
    when. Kept after a restore, so the referral's removals stay on the record."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="removals")
    removed_at = models.DateTimeField()
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300)
    # What the removal stopped, so the removed page and a restore can say so.
    followups_skipped = models.PositiveIntegerField(default=0)
    messages_cancelled = models.PositiveIntegerField(default=0)
    restored_at = models.DateTimeField(null=True, blank=True)
    restored_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-removed_at", "-id"]
        indexes = [models.Index(fields=["removed_at"], name="referral_removal_open",
                                condition=Q(restored_at=None))]

    def __str__(self) -> str:
        return f"referral {self.referral_id} removed {self.removed_at:%Y-%m-%d}: {self.reason}"


class ReferralEvent(models.Model):
    """The timeline: every status change (and other notable step) with who and when."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=12, choices=ReferralStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ReferralStatus.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status or '-'}"


class ReferralIdentifier(models.Model):
    """An id another system gave this referral (a FHIR ServiceRequest id, an HL7 placer
    number, an import row key). Unique per system so a repeat delivery finds the same row."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="identifiers")
    system = models.CharField(max_length=200)
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "value"], name="referral_identifier_unique")
        ]

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"


class PatientIdentifier(models.Model):
    """An id another system gave this patient (the referrer's MRN, a FHIR Patient
    identifier). Unique per system, so a second referral for the same person finds them."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="identifiers")
    system = models.CharField(max_length=200)
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "value"], name="patient_identifier_unique")
        ]

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"


class VisitKind(models.TextChoices):
    EVALUATION = "evaluation", "Evaluation"
    TREATMENT = "treatment", "Treatment visit"
    DISCHARGE = "discharge", "Discharge"


class Visit(models.Model):
    """A visit of the referred patient: what progress reports to the referring clinician
    count (after the evaluation, every N visits, at discharge)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="visits")
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=VisitKind.choices,
                            default=VisitKind.TREATMENT)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d}"
