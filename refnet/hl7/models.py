"""HL7 v2: the messages received (one row per delivery, with the ACK given), the systems
that get RRI^I12 status replies, and the replies waiting to go out (see docs/hl7.md)."""

from django.db import models
from django.db.models import Q


class InboundChannel(models.TextChoices):
    HTTP = "http", "HTTP"
    MLLP = "mllp", "MLLP"


class AckCode(models.TextChoices):
    AA = "AA", "Accepted"
    AE = "AE", "Error"
    AR = "AR", "Rejected"


class HL7Message(models.Model):
    """One REF^I12 delivery and the ACK it got: what came from whom, what we answered, and
    which referral it made or found. `raw` is the message as received (it names a patient:
    PHI, shown only to roles that may see patients, each view audited) and `ack` the ACK
    sent back; both are shown on Integrations > Message log."""

    received_at = models.DateTimeField(db_index=True)
    channel = models.CharField(max_length=4, choices=InboundChannel.choices)
    actor = models.CharField(max_length=150, help_text="The API key or MLLP listener.")
    address = models.GenericIPAddressField(null=True, blank=True)
    sending_application = models.CharField(max_length=180, blank=True)
    sending_facility = models.CharField(max_length=180, blank=True)
    control_id = models.CharField(max_length=199, blank=True)
    message_type = models.CharField(max_length=20, blank=True)
    version = models.CharField(max_length=10, blank=True)
    accept_ack = models.CharField(max_length=2, blank=True, help_text="MSH-15")
    application_ack = models.CharField(max_length=2, blank=True, help_text="MSH-16")
    ack_code = models.CharField(max_length=2, choices=AckCode.choices)
    error = models.CharField(max_length=500, blank=True)
    referral = models.ForeignKey("referrals.Referral", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="hl7_messages")
    duplicate = models.BooleanField(default=False)
    # What the RRI^I12 replies echo: the sender's referral id (RF1-6) and the patient ids
    # it sent (PID-3), as [[value, assigning authority, type], ...].
    external_id = models.CharField(max_length=200, blank=True)
    external_namespace = models.CharField(max_length=200, blank=True)
    patient_identifiers = models.JSONField(default=list, blank=True)
    raw = models.TextField(blank=True, help_text="The message as received (PHI).")
    ack = models.TextField(blank=True, help_text="The ACK sent back.")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["referral", "id"], name="hl7_message_referral",
                                condition=Q(referral__isnull=False))]

    def __str__(self) -> str:
        return f"{self.message_type} {self.control_id} from {self.sending_application} " \
               f"({self.ack_code})"


class HL7Subscriber(models.Model):
    """A sending system (MSH-3/MSH-4) that wants RRI^I12 status replies, and where to send
    them over MLLP. A blank facility matches any facility of that application."""

    sending_application = models.CharField(max_length=180)
    sending_facility = models.CharField(max_length=180, blank=True)
    host = models.CharField(max_length=200, blank=True, help_text="Blank: no replies.")
    port = models.PositiveIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sending_application", "sending_facility"]
        constraints = [models.UniqueConstraint(fields=["sending_application",
                                                       "sending_facility"],
                                               name="hl7_subscriber_unique")]

    def __str__(self) -> str:
        return f"{self.sending_application}^{self.sending_facility} -> " \
               f"{self.host or 'none'}:{self.port or ''}"

    @property
    def replies(self) -> bool:
        return self.enabled and bool(self.host) and bool(self.port)


class OutgoingStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent (peer accepted)"
    FAILED = "failed", "Refused by the peer"
    DEAD = "dead", "Gave up"


class HL7Outgoing(models.Model):
    """An RRI^I12 for one referral event, delivered over MLLP by the worker (hl7.tick)."""

    event = models.OneToOneField("referrals.ReferralEvent", on_delete=models.CASCADE,
                                 related_name="hl7_reply")
    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE,
                                 related_name="hl7_replies")
    subscriber = models.ForeignKey(HL7Subscriber, null=True, on_delete=models.SET_NULL,
                                   related_name="replies_sent")
    control_id = models.CharField(max_length=20)
    message = models.TextField()
    host = models.CharField(max_length=200)
    port = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=OutgoingStatus.choices,
                              default=OutgoingStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    ack_code = models.CharField(max_length=2, blank=True)
    ack_text = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="hl7_outgoing_due",
                                condition=Q(status="queued"))]

    def __str__(self) -> str:
        return f"RRI {self.control_id} -> {self.host}:{self.port} ({self.status})"


class HL7Cursor(models.Model):
    """How far hl7_tick has read the referral timeline."""

    name = models.CharField(max_length=20, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: event {self.last_event_id}"
