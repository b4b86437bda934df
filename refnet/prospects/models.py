"""Prospects: the fit scorecard (questions, weights, each partner's answers and the score's
history) and the record of every move on the pipeline board."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from refnet.partners.models import Stage

# A manager weighs each question from 0 (ignored) to this.
MAX_WEIGHT = 10
# Scale answers run from 0 to this ("not at all" .. "fully").
SCALE_MAX = 4


class CriterionKind(models.TextChoices):
    SCALE = "scale", "0–4 scale"
    YES_NO = "yes_no", "Yes or no"
    DISTANCE = "distance", "Computed from the distance to our nearest location"


class FitCriterion(models.Model):
    """One question of the scorecard. Seeded by migration 0002; managers change weights."""

    code = models.SlugField(max_length=40, unique=True)
    question = models.CharField(max_length=200)
    group = models.CharField(max_length=60, blank=True,
                             help_text="Questions of one group are shown together.")
    kind = models.CharField(max_length=10, choices=CriterionKind.choices)
    low_label = models.CharField(max_length=60, blank=True, help_text="What 0 / No means.")
    high_label = models.CharField(max_length=60, blank=True, help_text="What 4 / Yes means.")
    inverted = models.BooleanField(
        default=False, help_text="A high answer is bad for fit (e.g. they refer to a competitor)."
    )
    weight = models.PositiveSmallIntegerField(default=1,
                                              validators=[MaxValueValidator(MAX_WEIGHT)])
    position = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.question


class FitScorecard(models.Model):
    """A partner's answers and the score they give under the current weights."""

    partner = models.OneToOneField("partners.Partner", on_delete=models.CASCADE,
                                   related_name="fit_scorecard")
    # {criterion code: answer}; a question nobody answered is absent ("don't know").
    answers = models.JSONField(default=dict, blank=True)
    why_refer = models.TextField("Why would they refer to us?", blank=True, max_length=2000)
    # Null when no weighted question has an answer: there is nothing to score yet.
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    distance_miles = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    nearest_location = models.ForeignKey("practice.Location", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["score"])]

    def __str__(self) -> str:
        return f"Fit of {self.partner_id}: {self.score}"


class ScoreReason(models.TextChoices):
    ANSWERS = "answers", "Answers saved"
    WEIGHTS = "weights", "Weights changed"


class FitScoreVersion(models.Model):
    """One saved state of a scorecard: the score, the answers and the weights it used, who
    and when. Written on every save and on every weight change that touched the score."""

    scorecard = models.ForeignKey(FitScorecard, on_delete=models.CASCADE,
                                  related_name="versions")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    previous_score = models.PositiveSmallIntegerField(null=True, blank=True)
    answers = models.JSONField(default=dict)
    weights = models.JSONField(default=dict)
    distance_miles = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=10, choices=ScoreReason.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["scorecard", "-at"])]

    def __str__(self) -> str:
        return f"{self.previous_score} -> {self.score}"


class StageChange(models.Model):
    """A move of a partner on the pipeline board: from, to, who, when, why."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE,
                                related_name="stage_changes")
    from_stage = models.CharField(max_length=12, choices=Stage.choices)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["partner", "-at"])]

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.from_stage} -> {self.to_stage}"
