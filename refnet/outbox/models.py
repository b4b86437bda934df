"""Messages: the templates they are written from, and the durable outbox they leave through.

An OutboxMessage is written in the same transaction as the event that caused it (a
referral recorded, a follow-up done) and holds the fully rendered content, so what the
worker sends is exactly what was decided at that moment. The worker claims rows with a
lease (see outbox.worker); every try is a DeliveryAttempt.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class MessageChannel(models.TextChoices):
    EMAIL = "email", "Email"
    LETTER = "letter", "Printed letter"
    SMS = "sms", "SMS"
    FAX = "fax", "Fax"


class Purpose(models.TextChoices):
    THANK_YOU = "thank_you", "Thank-you for a referral"
    OUTCOME_UPDATE = "outcome_update", "Outcome update to the referring clinician"
    PROGRESS_REPORT = "progress_report", "Progress report to the referring clinician"
    CHECK_IN = "check_in", "Check-in with a partner"
    REENGAGE = "reengage", "Re-engage a quiet partner"
    GENERAL = "general", "General message"
    DIGEST = "digest", "Digest for staff"
    EVENT_INVITE = "event_invite", "Invitation to an outreach event"
    PARTNER_UPDATE = "partner_update", "Update about treatments, prices or products"


class Audience(models.TextChoices):
    """Who reads the message, chosen from the recipient, never by the template
    (COMPLIANCE.md): what each may be told is in outbox.rendering."""

    CLINICAL = "clinical", "Clinical: a referring clinician"
    NAMED = "named", "Named: a non-clinical referrer, patient's authorization on file"
    GENERAL = "general", "General: anyone else"
    STAFF = "staff", "Staff: someone in the practice (digests)"


class MessageTemplate(models.Model):
    """The text for one purpose, channel and audience. Written in a small, safe subset of
    Django's template language; outbox.rendering checks every variable against the audience
    when the template is saved and again when it is rendered."""

    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    subject = models.CharField(max_length=200, blank=True,
                               help_text="Email subject; letters and faxes use it as a heading.")
    body = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["purpose", "channel", "audience"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "channel", "audience"],
                                    name="message_template_unique"),
        ]

    def __str__(self) -> str:
        return (f"{self.get_purpose_display()} ({self.get_channel_display()}, "
                f"{self.audience})")


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waiting for its next_attempt_at
    SENDING = "sending", "Sending"  # claimed by a worker until lease_until
    SENT = "sent", "Sent"
    DEAD = "dead", "Failed: gave up"  # the dead letters, shown in the app with their error
    SUPPRESSED = "suppressed", "Not sent: recipient opted out"
    CANCELLED = "cancelled", "Cancelled"


OUTBOX_TRANSITIONS: dict[str, tuple[str, ...]] = {
    OutboxStatus.QUEUED: (OutboxStatus.SENDING, OutboxStatus.CANCELLED,
                          OutboxStatus.SUPPRESSED),
    # A worker finishes a claimed message one way or another; a lapsed lease puts it back.
    # Cancelled: its referral was removed while it waited (outbox.worker).
    OutboxStatus.SENDING: (OutboxStatus.SENT, OutboxStatus.QUEUED, OutboxStatus.DEAD,
                           OutboxStatus.SUPPRESSED, OutboxStatus.CANCELLED),
    OutboxStatus.SENT: (),
    # Resend puts a dead letter (or a suppressed one, once the recipient opted back in)
    # back in the queue with a fresh set of attempts.
    OutboxStatus.DEAD: (OutboxStatus.QUEUED, OutboxStatus.CANCELLED),
    OutboxStatus.SUPPRESSED: (OutboxStatus.QUEUED, OutboxStatus.CANCELLED),
    OutboxStatus.CANCELLED: (),
}


class OutboxMessage(models.Model):
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT,
        related_name="messages",
    )
    contact = models.ForeignKey(
        "partners.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    referral = models.ForeignKey(
        "referrals.Referral", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="messages",
    )
    template = models.ForeignKey(
        MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_name = models.CharField(max_length=200, blank=True)
    # An email address, a phone or fax number, or a postal address (several lines).
    to_address = models.TextField()
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # Files sent with an email (an event's .ics): [{"filename", "content_type", "content"}],
    # content as text; other channels ignore them.
    attachments = models.JSONField(default=list, blank=True)
    # True when the content names a patient (audiences clinical and named): viewing or
    # printing it is audited like any other patient data.
    names_patient = models.BooleanField(default=False)

    status = models.CharField(max_length=12, choices=OutboxStatus.choices,
                              default=OutboxStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=6)
    next_attempt_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=200, blank=True,
                                    help_text="The id the provider gave (Message-ID, SMS id...).")
    printed_at = models.DateTimeField(null=True, blank=True,
                                      help_text="Letters: when it went out in a print batch.")
    # Makes enqueueing idempotent: a rule that fires twice finds the message already there.
    dedupe_key = models.CharField(max_length=150, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The worker's queue: only live rows are in these indexes.
            models.Index(fields=["next_attempt_at"], name="outbox_due",
                         condition=Q(status="queued")),
            models.Index(fields=["lease_until"], name="outbox_leased",
                         condition=Q(status="sending")),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["partner", "created_at"]),
            models.Index(fields=["channel", "sent_at"], name="outbox_letters_unprinted",
                         condition=Q(status="sent", channel="letter", printed_at=None)),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.to_name or self.to_address} #{self.pk}"


class DeliveryAttempt(models.Model):
    """One try at delivering a message: what happened and how long it took."""

    class Result(models.TextChoices):
        SENT = "sent", "Sent"
        RETRY = "retry", "Failed, will retry"
        FAILED = "failed", "Failed for good"
        SUPPRESSED = "suppressed", "Suppressed"
        CANCELLED = "cancelled", "Cancelled: its referral was removed"

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE,
                                related_name="delivery_attempts")
    at = models.DateTimeField()
    worker = models.CharField(max_length=80)
    result = models.CharField(max_length=10, choices=Result.choices)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.result} at {self.at:%Y-%m-%d %H:%M:%S}"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed by link"
    SMS_STOP = "sms_stop", "Replied STOP to an SMS"
    BOUNCE = "bounce", "Address bounced"
    MANUAL = "manual", "Added by staff"


class Suppression(models.Model):
    """An address that must not receive this channel's messages (CAN-SPAM, TCPA).
    Addresses are normalized: emails lower-cased, phone numbers as their last 10 digits."""

    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=12, choices=SuppressionReason.choices)
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="suppression_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address} ({self.reason})"


class InboundSms(models.Model):
    """A text message received from a provider's webhook (or the file backend): kept so
    that every opt-out and opt-in has its evidence."""

    from_number = models.CharField(max_length=30)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=10, blank=True, help_text="opt_out, opt_in or blank")

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.body[:30]}"


class WorkerHeartbeat(models.Model):
    """One row per running `refnet worker`: the health check reads beat_at."""

    worker = models.CharField(max_length=80, unique=True)
    host = models.CharField(max_length=120)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.worker
