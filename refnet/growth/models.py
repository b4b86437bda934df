"""The growth plan: long-term goals broken into checklist items, each with an owner and a
cadence. Each due occurrence of an item is a follow-up (kind PLAN_STEP) in the owner's
inbox, keyed f"plan:{item.pk}:{due date}"; growth.services schedules the next one."""

from django.conf import settings
from django.db import models


class GoalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DONE = "done", "Reached"
    DROPPED = "dropped", "Dropped"


class Goal(models.Model):
    title = models.CharField(max_length=200)
    why = models.TextField(blank=True, help_text="Why this matters to the practice.")
    target_number = models.PositiveIntegerField(null=True, blank=True)
    target_metric = models.CharField(max_length=120, blank=True,
                                     help_text="e.g. “gym partners who referred this year”")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="plan_goals")
    due = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=GoalStatus.choices,
                              default=GoalStatus.ACTIVE)
    position = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Cadence(models.TextChoices):
    ONCE = "once", "Once"
    WEEKLY = "weekly", "Every week"
    MONTHLY = "monthly", "Every month"


class PlanItem(models.Model):
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(max_length=250)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="plan_items")
    cadence = models.CharField(max_length=8, choices=Cadence.choices, default=Cadence.ONCE)
    # The due date of the current occurrence (the one in the owner's inbox).
    next_due = models.DateField()
    # Monthly items keep their day of the month: Jan 31 -> Feb 28 -> Mar 31.
    anchor_day = models.PositiveSmallIntegerField(default=1)
    active = models.BooleanField(default=True)
    # A one-off item that was done (or a recurring one that was stopped) is finished.
    finished_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    def occurrence_key(self, due) -> str:
        return f"plan:{self.pk}:{due.isoformat()}"
