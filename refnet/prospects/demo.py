"""Demo scorecards for prospects, contacted and engaged partners (some saved twice, so the
score has a history) and the stage moves that brought some of them where they are."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from refnet.partners.models import Stage

from .defaults import criteria_ensure
from .models import FitCriterion, StageChange
from .scoring import SCALE_MAX
from .services import scorecard_save

SCORECARDS = 15
# How a partner in each stage reached it, for the demo's stage history.
PATHS = {
    Stage.CONTACTED: [Stage.PROSPECT],
    Stage.ENGAGED: [Stage.PROSPECT, Stage.CONTACTED],
    Stage.DECLINED: [Stage.PROSPECT],
}


def _answers(rng: Any, criteria: list[FitCriterion], known: float) -> dict[str, int]:
    answers = {}
    for c in criteria:
        if c.kind == "distance" or rng.random() > known:
            continue
        answers[c.code] = rng.randint(0, 1) if c.kind == "yes_no" else rng.randint(
            1, SCALE_MAX)
    return answers


def build_demo(*, practice: Any, partners: list, now: Any, rng: Any, say: Any) -> None:
    criteria_ensure()
    criteria = list(FitCriterion.objects.all())
    courted = [p for p in partners if p.merged_into_id is None
               and p.stage in (Stage.PROSPECT, Stage.CONTACTED, Stage.ENGAGED)]
    chosen = rng.sample(courted, min(SCORECARDS, len(courted)))
    for i, partner in enumerate(chosen):
        by = partner.owner or practice.users["outreach"]
        if i % 3 == 0:  # a first, sketchier pass a few weeks ago
            scorecard_save(partner=partner, answers=_answers(rng, criteria, 0.5), by=by,
                           now=now - timedelta(days=rng.randint(20, 60)))
        scorecard_save(partner=partner, answers=_answers(rng, criteria, 0.85), by=by,
                       why_refer=rng.choice([
                           "Their clients ask where to go after an injury.",
                           "They have no physical therapist in the building.",
                           "Our Saturday hours suit their patients.", "",
                       ]), now=now - timedelta(days=rng.randint(0, 15)))
    moves = []
    moved = [p for p in partners if p.merged_into_id is None and p.stage in PATHS]
    for partner in rng.sample(moved, min(8, len(moved))):
        by = partner.owner or practice.users["outreach"]
        at = now - timedelta(days=rng.randint(40, 90))
        path = [*PATHS[partner.stage], partner.stage]
        for before, after in zip(path, path[1:], strict=False):
            moves.append(StageChange(partner=partner, from_stage=before, to_stage=after,
                                     by=by, at=at))
            at += timedelta(days=rng.randint(5, 20))
    StageChange.objects.bulk_create(moves)
    say(f"Prospects: {len(chosen)} fit scorecards, {len(moves)} stage moves.")
