"""Writes: a partner's scorecard, the weights, and moves on the pipeline board. Each
function is one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from refnet.accounts.models import User
from refnet.partners.models import Partner, Stage
from refnet.partners.services import partner_update
from refnet.practice.models import Location

from .defaults import criteria_ensure
from .models import (
    MAX_WEIGHT,
    CriterionKind,
    FitCriterion,
    FitScorecard,
    FitScoreVersion,
    ScoreReason,
    StageChange,
)
from .scoring import SCALE_MAX, Criterion, fit_score, nearest


def criteria_loaded(*, lock: bool = False) -> list[FitCriterion]:
    """The questions in order; the shipped ones are put back first if the table was emptied
    (`refnet demo --reset`, a test database flush)."""
    if not FitCriterion.objects.exists():
        criteria_ensure()
    qs = FitCriterion.objects.order_by("position", "code")
    return list(qs.select_for_update() if lock else qs)


def criteria_specs(criteria: list[FitCriterion] | None = None) -> list[Criterion]:
    rows = criteria if criteria is not None else list(FitCriterion.objects.all())
    return [Criterion(c.code, c.kind, c.weight, c.inverted) for c in rows]


def nearest_location(partner: Partner) -> tuple[Location | None, Decimal | None]:
    """Our nearest active location with coordinates, and how far it is in miles (2 places);
    (None, None) when the partner or every location lacks coordinates."""
    if partner.latitude is None or partner.longitude is None:
        return None, None
    places = [
        (loc, float(loc.latitude), float(loc.longitude))
        for loc in Location.objects.filter(is_active=True, latitude__isnull=False,
                                           longitude__isnull=False)
    ]
    found = nearest((float(partner.latitude), float(partner.longitude)), places)
    if found is None:
        return None, None
    location, miles = found
    return location, Decimal(str(round(miles, 2)))  # type: ignore[return-value]


def clean_answers(answers: Mapping[str, Any], criteria: list[FitCriterion]) -> dict[str, int]:
    """The answers as {code: int}, without "don't know"s; a ValidationError naming the
    question for anything else."""
    by_code = {c.code: c for c in criteria}
    cleaned: dict[str, int] = {}
    errors: list[str] = []
    for code, raw in answers.items():
        criterion = by_code.get(code)
        if criterion is None:
            errors.append(f"There is no question {code!r} on the scorecard.")
            continue
        if raw is None or raw == "":
            continue
        if criterion.kind == CriterionKind.DISTANCE:
            errors.append(f"“{criterion.question}” is computed from the distance, "
                          "not answered.")
            continue
        top = 1 if criterion.kind == CriterionKind.YES_NO else SCALE_MAX
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = -1
        if not 0 <= value <= top:
            allowed = "yes or no" if top == 1 else f"0 to {SCALE_MAX}"
            errors.append(f"“{criterion.question}”: answer {allowed}, not {raw!r}.")
            continue
        cleaned[code] = value
    if errors:
        raise ValidationError({"answers": errors})
    return cleaned


@transaction.atomic
def scorecard_save(*, partner: Partner, answers: Mapping[str, Any], why_refer: str = "",
                   by: User | None, now: datetime | None = None) -> FitScorecard:
    """Save a partner's answers, score them under the current weights and keep the version."""
    now = now or timezone.now()
    criteria = criteria_loaded()
    cleaned = clean_answers(answers, criteria)
    if len(why_refer) > 2000:
        raise ValidationError({"why_refer": "Keep “why would they refer to us” under 2,000 "
                                            "characters."})
    scorecard = (FitScorecard.objects.select_for_update().filter(partner=partner).first()
                 or FitScorecard(partner=partner))
    previous = scorecard.score if scorecard.pk else None
    location, miles = nearest_location(partner)
    result = fit_score(criteria_specs(criteria), cleaned, miles)
    scorecard.answers = cleaned
    scorecard.why_refer = why_refer.strip()
    scorecard.score = result.score
    scorecard.distance_miles = miles
    scorecard.nearest_location = location
    scorecard.updated_by = by
    scorecard.updated_at = now
    scorecard.save()
    FitScoreVersion.objects.create(
        scorecard=scorecard, score=result.score, previous_score=previous, answers=cleaned,
        weights={c.code: c.weight for c in criteria}, distance_miles=miles,
        reason=ScoreReason.ANSWERS, by=by, at=now,
    )
    return scorecard


@transaction.atomic
def fit_weights_set(*, weights: Mapping[str, Any], by: User | None,
                    now: datetime | None = None) -> int:
    """Set the questions' weights (each 0..MAX_WEIGHT), keep each change in the criteria's
    history, and rescore every scorecard; returns how many scores changed. Each changed
    score gets a version row saying the weights changed it."""
    now = now or timezone.now()
    criteria = criteria_loaded(lock=True)
    by_code = {c.code: c for c in criteria}
    errors = []
    new: dict[str, int] = {}
    for code, raw in weights.items():
        criterion = by_code.get(code)
        if criterion is None:
            errors.append(f"There is no question {code!r} on the scorecard.")
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = -1
        if not 0 <= value <= MAX_WEIGHT:
            errors.append(f"“{criterion.question}”: a weight is a whole number from 0 to "
                          f"{MAX_WEIGHT}, not {raw!r}.")
            continue
        new[code] = value
    if errors:
        raise ValidationError({"weights": errors})
    changed = [by_code[code] for code, value in new.items() if by_code[code].weight != value]
    if not changed:
        return 0
    for criterion in changed:
        criterion._change_reason = (  # type: ignore[attr-defined]
            f"weight {criterion.weight} to {new[criterion.code]}")
        criterion.weight = new[criterion.code]
        criterion._history_user = by  # type: ignore[attr-defined]
        criterion.save(update_fields=["weight"])
    return _rescore_all(criteria, by=by, now=now)


def _rescore_all(criteria: list[FitCriterion], *, by: User | None, now: datetime) -> int:
    specs = criteria_specs(criteria)
    weights = {c.code: c.weight for c in criteria}
    rescored = 0
    versions = []
    for scorecard in FitScorecard.objects.select_for_update().order_by("pk").iterator(
        chunk_size=500
    ):
        score = fit_score(specs, scorecard.answers, scorecard.distance_miles).score
        if score == scorecard.score:
            continue
        versions.append(FitScoreVersion(
            scorecard=scorecard, score=score, previous_score=scorecard.score,
            answers=scorecard.answers, weights=weights,
            distance_miles=scorecard.distance_miles, reason=ScoreReason.WEIGHTS, by=by, at=now,
        ))
        FitScorecard.objects.filter(pk=scorecard.pk).update(score=score)
        rescored += 1
    FitScoreVersion.objects.bulk_create(versions, batch_size=500)
    return rescored


class StaleStage(ValidationError):
    """Someone moved the card since this page was loaded."""


@transaction.atomic
def partner_stage_move(*, partner: Partner, to_stage: str, by: User | None, note: str = "",
                       expected_from: str | None = None,
                       now: datetime | None = None) -> StageChange:
    """Move a partner to another stage on the pipeline and record who moved it and when.

    1. Refuse a stage that does not exist.
    2. Lock the partner row, so two people moving the same card are served one at a time;
       the second sees the first one's move.
    3. If the caller says which stage the card was in when they saw it (`expected_from`)
       and it is no longer there, refuse with who moved it, rather than overwrite.
    4. Update the partner through partner_update (validation, history with the user) and
       add the StageChange, in this one transaction.
    """
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": f"{to_stage!r} is not a stage; choose one of "
                                           f"{', '.join(Stage.labels)}."})
    if len(note) > 500:
        raise ValidationError({"note": "Keep the note under 500 characters."})
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    if locked.merged_into_id:
        raise ValidationError(f"“{locked.name}” was merged into another partner; move that "
                              "one instead.")
    if expected_from and locked.stage != expected_from:
        last = StageChange.objects.filter(partner=locked).select_related("by").first()
        who = ""
        if last:
            at = timezone.localtime(last.at)
            who = f" (moved by {last.by or 'someone'} on {at:%b} {at.day} at {at:%H:%M})"
        raise StaleStage(
            f"“{locked.name}” is already in {Stage(locked.stage).label}{who}; nothing was "
            "changed.", code="stale")
    if locked.stage == to_stage:
        raise ValidationError(f"“{locked.name}” is already in {Stage(to_stage).label}.")
    from_stage = locked.stage
    partner_update(partner=locked, by=by, stage=to_stage)
    partner.stage = to_stage
    return StageChange.objects.create(partner=locked, from_stage=from_stage, to_stage=to_stage,
                                      by=by, at=now or timezone.now(), note=note.strip())
