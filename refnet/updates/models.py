"""Updates to partners about treatments, prices and products: one Update is written once;
each partner it reaches gets an UpdateDelivery, the record of what they received and when.

Deliveries wait for the partner's cadence: all of a partner's pending updates go out
together as one outbox message (see updates.services)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class UpdateKind(models.TextChoices):
    TREATMENT = "treatment", "New treatment"
    PRICE = "price", "Prices"
    PRODUCT = "product", "Product"
    NEWS = "news", "News"


class UpdateStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    # Published; some partners are still waiting for their next allowed send.
    SCHEDULED = "scheduled", "Scheduled"
    # Every delivery has its message; some are still in the outbox.
    SENDING = "sending", "Sending"
    DONE = "done", "Done"


UPDATE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    UpdateStatus.DRAFT: (UpdateStatus.SCHEDULED, UpdateStatus.SENDING, UpdateStatus.DONE),
    UpdateStatus.SCHEDULED: (UpdateStatus.SENDING, UpdateStatus.DONE),
    UpdateStatus.SENDING: (UpdateStatus.SCHEDULED, UpdateStatus.DONE),
    UpdateStatus.DONE: (),
}


class Update(models.Model):
    title = models.CharField(max_length=200)
    # Plain text; may use the placeholders every recipient may see ({{ partner.name }},
    # {{ partner.greeting }}, {{ practice.name }}, ...), checked by outbox.rendering.
    body = models.TextField()
    kind = models.CharField(max_length=10, choices=UpdateKind.choices, default=UpdateKind.NEWS)
    # Who it is for: {"kinds": [...], "categories": [...], "stages": [...],
    # "owner": user id or None, "tags": [tag ids]}; an empty list means any.
    audience = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=UpdateStatus.choices,
                              default=UpdateStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the partner's cadence"
    BATCHED = "batched", "Being batched"  # claimed by a tick; its message is being written
    QUEUED = "queued", "In the outbox"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Not sent"


DELIVERY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    DeliveryStatus.PENDING: (DeliveryStatus.BATCHED, DeliveryStatus.SKIPPED),
    DeliveryStatus.BATCHED: (DeliveryStatus.QUEUED, DeliveryStatus.PENDING,
                             DeliveryStatus.SKIPPED),
    # The outbox decides the rest: sent, or not sent (opted out by then, gave up).
    DeliveryStatus.QUEUED: (DeliveryStatus.SENT, DeliveryStatus.SKIPPED),
    DeliveryStatus.SENT: (),
    DeliveryStatus.SKIPPED: (),
}


class SkipReason(models.TextChoices):
    DO_NOT_CONTACT = "do_not_contact", "Asked for no contact"
    NO_ADDRESS = "no_address", "No address to send to"
    SUPPRESSED = "suppressed", "Opted out of this channel"
    FAILED = "failed", "Delivery failed"
    CANCELLED = "cancelled", "Message cancelled"


class UpdateDelivery(models.Model):
    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="deliveries")
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE,
                                related_name="update_deliveries")
    channel = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    skip_reason = models.CharField(max_length=16, choices=SkipReason.choices, blank=True)
    skip_detail = models.CharField(max_length=300, blank=True)
    # The partner's next allowed send (their cadence) when published; the tick sends then.
    scheduled_for = models.DateTimeField()
    # Every delivery that went out in the same message shares its batch key.
    batch_key = models.CharField(max_length=80, blank=True)
    message = models.ForeignKey("outbox.OutboxMessage", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="update_deliveries")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["partner__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["update", "partner"], name="update_delivery_unique"),
        ]
        indexes = [
            # The tick's queue: only waiting rows.
            models.Index(fields=["scheduled_for"], name="update_delivery_due",
                         condition=Q(status="pending")),
            models.Index(fields=["partner", "status"]),
            models.Index(fields=["batch_key"]),
        ]

    def __str__(self) -> str:
        return f"{self.update} -> {self.partner} ({self.status})"
