"""Follow-up rules (what the practice promises to do, and by when) and the follow-ups they
create: one task for one person, with a due time and a key that makes it unique.

The rules engine (followups.rules) is idempotent: every follow-up it creates has a `key`
built from what caused it ("thank:r42", "checkin:p7:2026-12-01"), so running the rules
again, or from two workers at once, never makes a second one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from refnet.partners.models import PartnerKind


class RuleKind(models.TextChoices):
    THANK_REFERRER = "thank_referrer", "Thank the referrer"
    OUTCOME_UPDATE = "outcome_update", "Outcome update to the referring clinician"
    PROGRESS_REPORT = "progress_report", "Progress report to the referring clinician"
    CHECK_IN = "check_in", "Check in at the partner's cadence"
    REENGAGE = "reengage", "Re-engage a partner gone quiet"
    ASK_SOURCE = "ask_source", "Ask again who referred the patient"


# Rules about one referral; the others are about a partner over time.
REFERRAL_KINDS = frozenset({RuleKind.THANK_REFERRER, RuleKind.OUTCOME_UPDATE,
                            RuleKind.PROGRESS_REPORT, RuleKind.ASK_SOURCE})


class FollowUpKind(models.TextChoices):
    """What a follow-up is: one of the rule kinds above, or a task someone scheduled (a
    step in courting a prospect, an outreach event, the growth plan). Same values as
    RuleKind for the rule kinds, so `followup.kind == RuleKind.CHECK_IN` keeps working."""

    THANK_REFERRER = RuleKind.THANK_REFERRER.value, RuleKind.THANK_REFERRER.label
    OUTCOME_UPDATE = RuleKind.OUTCOME_UPDATE.value, RuleKind.OUTCOME_UPDATE.label
    PROGRESS_REPORT = RuleKind.PROGRESS_REPORT.value, RuleKind.PROGRESS_REPORT.label
    CHECK_IN = RuleKind.CHECK_IN.value, RuleKind.CHECK_IN.label
    REENGAGE = RuleKind.REENGAGE.value, RuleKind.REENGAGE.label
    ASK_SOURCE = RuleKind.ASK_SOURCE.value, RuleKind.ASK_SOURCE.label
    PROSPECT = "prospect", "Court a prospective partner"
    EVENT = "event", "Outreach event step"
    PLAN_STEP = "plan_step", "Growth plan step"
    TASK = "task", "Task"


# Follow-ups a person schedules (followup_task_create), not the rules engine.
TASK_KINDS = frozenset({FollowUpKind.PROSPECT, FollowUpKind.EVENT, FollowUpKind.PLAN_STEP,
                        FollowUpKind.TASK})


class RuleMode(models.TextChoices):
    REMIND = "remind", "Remind: a follow-up for a person"
    AUTO = "auto", "Auto: queue the message at once"


class FollowUpRule(models.Model):
    """A rule for one kind of follow-up, for one partner kind or (partner_kind blank) for
    all kinds without a rule of their own. Partners can override it (PartnerRuleOverride)."""

    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    partner_kind = models.CharField(
        max_length=20, choices=PartnerKind.choices, blank=True,
        help_text="Blank: the default for every partner kind without its own rule.",
    )
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=8, choices=RuleMode.choices, default=RuleMode.REMIND)
    due_days = models.PositiveSmallIntegerField(
        default=2, help_text="Business days after the event that the follow-up is due."
    )
    # Progress reports only: when to send them while the patient is under care.
    progress_after_evaluation = models.BooleanField(default=True)
    progress_every_visits = models.PositiveSmallIntegerField(null=True, blank=True)
    progress_every_days = models.PositiveSmallIntegerField(null=True, blank=True)
    progress_at_discharge = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["kind", "partner_kind"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "partner_kind"], name="followup_rule_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.partner_kind or 'all kinds'})"


class PartnerRuleOverride(models.Model):
    """One partner's exception to a rule: off, another mode, or another number of days."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE,
                                related_name="rule_overrides")
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    enabled = models.BooleanField(default=True)
    mode = models.CharField(max_length=8, choices=RuleMode.choices, blank=True,
                            help_text="Blank: as the rule says.")
    due_days = models.PositiveSmallIntegerField(null=True, blank=True,
                                                help_text="Blank: as the rule says.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "kind"],
                                    name="partner_rule_override_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.kind}"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


FOLLOWUP_TRANSITIONS: dict[str, tuple[str, ...]] = {
    FollowUpStatus.OPEN: (FollowUpStatus.DONE, FollowUpStatus.SKIPPED),
    FollowUpStatus.DONE: (),
    FollowUpStatus.SKIPPED: (),
}


class DoneHow(models.TextChoices):
    CALLED = "called", "Called"
    SENT = "sent", "Sent a message"
    MET = "met", "Met in person"
    AUTO_SENT = "auto_sent", "Sent automatically"
    OTHER = "other", "Other"


class FollowUp(models.Model):
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=FollowUpKind.choices)
    status = models.CharField(max_length=8, choices=FollowUpStatus.choices,
                              default=FollowUpStatus.OPEN)
    partner = models.ForeignKey("partners.Partner", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="followups")
    referral = models.ForeignKey("referrals.Referral", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="followups")
    location = models.ForeignKey("practice.Location", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="followups",
    )
    # due_at moves when snoozed; original_due_at is what the rule promised (loop health).
    due_at = models.DateTimeField()
    original_due_at = models.DateTimeField()
    summary = models.CharField(max_length=300, help_text="What to do, without patient names.")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    done_how = models.CharField(max_length=10, choices=DoneHow.choices, blank=True)
    note = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=300, blank=True)
    message = models.ForeignKey("outbox.OutboxMessage", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="followups")

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "due_at"], name="followup_open_by_assignee",
                         condition=Q(status="open")),
            models.Index(fields=["due_at"], name="followup_open_due",
                         condition=Q(status="open")),
            models.Index(fields=["partner", "kind", "completed_at"]),
            # The dashboard's gone-quiet list (open re-engages, soonest due first) and its
            # count: a walk of the first ten entries and a count of the index alone, where
            # the open follow-ups' index made both read every open follow-up.
            models.Index(fields=["kind", "due_at", "id"], name="followup_open_partner_kind",
                         condition=Q(status="open", partner__isnull=False)),
        ]
        constraints = [
            # A partner has at most one open check-in and one open re-engage at a time
            # (tasks such as event steps may stack).
            models.UniqueConstraint(
                fields=["partner", "kind"], name="followup_one_open_per_partner",
                condition=Q(status="open", referral__isnull=True,
                            kind__in=["check_in", "reengage"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d}"


class RuleCursor(models.Model):
    """Where the incremental rule pass got to: the last referral event and visit it read,
    and the local date of the last daily pass (partners' check-ins and quiet spells)."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    last_visit_id = models.BigIntegerField(default=0)
    daily_pass_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
