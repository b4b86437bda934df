"""Outreach: playbooks (templates for an event and its steps), events, and who was invited.

The referrals attributed to an event are computed, never stored (outreach.selectors)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from refnet.partners.models import BusinessCategory


class EventKind(models.TextChoices):
    TALK = "talk", "Talk"
    LUNCH_AND_LEARN = "lunch_and_learn", "Lunch-and-learn"
    DINNER = "dinner", "Dinner"
    TOUR = "tour", "Tour"
    OPEN_HOUSE = "open_house", "Open house"
    CHAMBER_MEETING = "chamber_meeting", "Chamber meeting"
    OTHER = "other", "Other"


class Rsvp(models.TextChoices):
    PENDING = "pending", "No answer yet"
    YES = "yes", "Yes"
    NO = "no", "No"
    MAYBE = "maybe", "Maybe"


# Who does a playbook step. Only the event's owner for now: the person accountable for it.
STEP_WHO = ("owner",)


def validate_steps(value) -> None:
    """Steps are [{"offset_days": int, "summary": str, "who": "owner"}, ...]."""
    if not isinstance(value, list):
        raise ValidationError("Steps must be a list.")
    for number, step in enumerate(value, start=1):
        if not isinstance(step, dict):
            raise ValidationError(f"Step {number} must be an object.")
        offset = step.get("offset_days")
        if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 365:
            raise ValidationError(f"Step {number}: offset_days must be a whole number of days "
                                  "between -365 and 365.")
        summary = step.get("summary")
        if not isinstance(summary, str) or not summary.strip() or len(summary) > 250:
            raise ValidationError(f"Step {number}: say what is to be done (up to 250 "
                                  "characters).")
        if step.get("who", "owner") not in STEP_WHO:
            raise ValidationError(f"Step {number}: who must be one of {', '.join(STEP_WHO)}.")


class Playbook(models.Model):
    """A proven way to meet one kind of local partner: the event it leads to and the steps
    around it, each `offset_days` before (negative) or after the event's day."""

    name = models.CharField(max_length=120, unique=True)
    category = models.CharField(
        max_length=20, choices=BusinessCategory.choices,
        help_text="The kind of local partner this playbook suits.",
    )
    description = models.TextField(blank=True)
    event_kind = models.CharField(max_length=20, choices=EventKind.choices,
                                  default=EventKind.TALK)
    default_cost = models.DecimalField(max_digits=9, decimal_places=2, default=0)
    duration_minutes = models.PositiveIntegerField(default=60)
    steps = models.JSONField(default=list, blank=True, validators=[validate_steps])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    kind = models.CharField(max_length=20, choices=EventKind.choices, default=EventKind.TALK)
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    place = models.CharField(max_length=200, blank=True,
                             help_text="Where: the venue's name and address.")
    location = models.ForeignKey(
        "practice.Location", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="events", help_text="When it is held at one of our locations.",
    )
    description = models.TextField(
        blank=True, help_text="What invitees read in the invitation. No patient information.",
    )
    cost = models.DecimalField(max_digits=9, decimal_places=2, default=0)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="owned_events")
    notes = models.TextField(blank=True, help_text="For the team only; never sent.")
    playbook = models.ForeignKey(Playbook, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="events")
    attribution_days = models.PositiveIntegerField(
        default=90, help_text="Referrals from attendees' partners this many days after the "
                              "event count toward it.",
    )
    # Bumped when the time or place changes, so calendars replace the invitation (RFC 5545).
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["starts_at"])]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The event must end after it starts."})
        if self.cost is not None and self.cost < 0:
            raise ValidationError({"cost": "The cost cannot be negative."})
        if self.attribution_days is not None and not 1 <= self.attribution_days <= 365:
            raise ValidationError({"attribution_days": "Count between 1 and 365 days."})

    @property
    def where(self) -> str:
        if self.place:
            return self.place
        if self.location_id:
            loc = self.location
            parts = [loc.name, loc.address_line, " ".join(p for p in (loc.city, loc.state,
                                                                       loc.zip_code) if p)]
            return ", ".join(p for p in parts if p)
        return ""


class Invitee(models.Model):
    """A partner (or one of its contacts) invited to an event, their answer and whether
    they came."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitees")
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE,
                                related_name="event_invitations")
    contact = models.ForeignKey("partners.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="event_invitations")
    email = models.EmailField(blank=True, help_text="The address the invitation went to.")
    invited_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey("outbox.OutboxMessage", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    rsvp = models.CharField(max_length=8, choices=Rsvp.choices, default=Rsvp.PENDING)
    rsvp_at = models.DateTimeField(null=True, blank=True)
    attended = models.BooleanField(default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "partner"], condition=Q(contact=None),
                                    name="outreach_invitee_one_per_partner"),
            models.UniqueConstraint(fields=["event", "contact"], condition=~Q(contact=None),
                                    name="outreach_invitee_one_per_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.label} @ {self.event_id}"

    @property
    def label(self) -> str:
        if self.contact_id:
            return f"{self.contact.name} ({self.partner.name})"
        return self.partner.name
