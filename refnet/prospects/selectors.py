"""Reads: the pipeline board, a partner's scorecard with its history, the weights' history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q

from refnet.partners.models import Partner, Stage
from refnet.partners.selectors import twelve_months_ago

from .models import FitCriterion, FitScorecard, FitScoreVersion, StageChange

# Cards shown per column; the rest are counted and linked to the partner list.
BOARD_COLUMN_LIMIT = 30
HISTORY_LIMIT = 50
# The stage a card's "Move to" list offers first: the usual next step from each stage.
NEXT_STAGE = {
    Stage.PROSPECT: Stage.CONTACTED, Stage.CONTACTED: Stage.ENGAGED,
    Stage.ENGAGED: Stage.ACTIVE, Stage.ACTIVE: Stage.DORMANT,
    Stage.DORMANT: Stage.ACTIVE, Stage.DECLINED: Stage.PROSPECT,
}


@dataclass
class BoardCard:
    partner: Partner
    score: int | None
    last_referral_at: datetime | None = None
    referrals_12m: int = 0
    last_change: StageChange | None = None

    @property
    def next_stage(self) -> str:
        return NEXT_STAGE.get(self.partner.stage, Stage.PROSPECT)


@dataclass
class BoardColumn:
    stage: str
    label: str
    count: int
    cards: list[BoardCard] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


def _board_filter(*, owner: Any = None, unowned: bool = False, kind: str = ""
                  ) -> dict[str, Any]:
    """The board's filters as lookups on a partner (prefix them for a related one)."""
    where: dict[str, Any] = {}
    if unowned:
        where["owner__isnull"] = True
    elif owner is not None:
        where["owner"] = owner
    if kind:
        where["kind"] = kind
    return where


def _stage_counts(where: dict[str, Any]) -> dict[str, int]:
    """{stage: live partners}. Counted over every partner, then the few merged ones taken
    off, so PostgreSQL answers from the (owner, stage) / (kind, stage) indexes alone
    instead of reading all 100k rows for their merged_into column."""
    def grouped(qs: Any) -> dict[str, int]:
        return dict(qs.filter(**where).order_by().values("stage").annotate(n=Count("*"))
                    .values_list("stage", "n"))

    counts = grouped(Partner.objects.all())
    # The gone ones in two parts that an index finds (merged; removed but not merged): as
    # one "merged OR removed" query SQLite read every partner (~15 ms at 20,000).
    merged = Partner.objects.filter(merged_into__isnull=False)
    removed = Partner.objects.filter(merged_into__isnull=True, removed_at__isnull=False)
    for gone in (merged, removed):
        for stage, n in grouped(gone).items():
            counts[stage] = counts.get(stage, 0) - n
    return counts


def _column_partners(stage: str, where: dict[str, Any], limit: int) -> list[Partner]:
    """The column's top cards: scored partners by score (read from the small scorecard
    table and its score index), then unscored ones, newest first (a backwards walk of the
    primary key that stops after `limit`). One sort over a whole stage joined to the
    scorecards took ~150 ms per column at 100k partners; these take a few ms."""
    # The scorecards drive (EXISTS, not a join): joined, SQLite started from the partners
    # and read every live one to find the few scored (~20 ms a column at 20,000).
    in_column = Partner.objects.filter(pk=OuterRef("partner_id"), stage=stage,
                                       merged_into__isnull=True, removed_at__isnull=True,
                                       **where)
    scored_ids = list(
        FitScorecard.objects.filter(score__isnull=False).filter(Exists(in_column))
        .order_by("-score", "-partner_id").values_list("partner_id", flat=True)[:limit]
    )
    rows = Partner.objects.select_related("owner", "fit_scorecard")
    found = rows.in_bulk(scored_ids)
    partners = [found[pk] for pk in scored_ids if pk in found]
    if len(partners) < limit:
        has_score = FitScorecard.objects.filter(partner=OuterRef("pk"), score__isnull=False)
        partners += list(rows.filter(stage=stage, merged_into__isnull=True,
                                     removed_at__isnull=True, **where)
                         .filter(~Exists(has_score))
                         .order_by("-pk")[:limit - len(partners)])
    return partners


def pipeline_board(*, owner: Any = None, unowned: bool = False, kind: str = "",
                   limit: int | None = None, now: datetime | None = None,
                   ) -> list[BoardColumn]:
    """Six columns, one per stage, each with its full count and its top `limit` cards: the
    best fit score first, then unscored partners, newest first. A fixed number of small
    queries whatever the directory's size: the counts, two per column, one for the cards'
    referrals, two for their last moves."""
    limit = BOARD_COLUMN_LIMIT if limit is None else limit
    where = _board_filter(owner=owner, unowned=unowned, kind=kind)
    counts = _stage_counts(where)
    columns = []
    cards: dict[int, BoardCard] = {}
    for stage, label in Stage.choices:
        column = BoardColumn(stage=stage, label=label, count=counts.get(stage, 0))
        if column.count:
            for partner in _column_partners(stage, where, limit):
                scorecard = getattr(partner, "fit_scorecard", None)
                card = BoardCard(partner=partner,
                                 score=scorecard.score if scorecard else None)
                column.cards.append(card)
                cards[partner.pk] = card
        columns.append(column)
    _add_referrals(cards, now=now)
    _add_last_changes(cards)
    return columns


def _add_referrals(cards: dict[int, BoardCard], *, now: datetime | None) -> None:
    from refnet.referrals.models import Referral

    if not cards:
        return
    since = twelve_months_ago(now)
    rows = (Referral.objects.filter(source_partner_id__in=list(cards))
            .values("source_partner_id")
            .annotate(last=Max("received_at"), n=Count("id", filter=Q(received_at__gte=since)))
            .order_by())
    for row in rows:
        card = cards[row["source_partner_id"]]
        card.last_referral_at, card.referrals_12m = row["last"], row["n"]


def _add_last_changes(cards: dict[int, BoardCard]) -> None:
    if not cards:
        return
    latest = (StageChange.objects.filter(partner_id__in=list(cards))
              .values("partner_id").annotate(last=Max("id")).values_list("last", flat=True))
    for change in StageChange.objects.filter(id__in=list(latest)).select_related("by"):
        cards[change.partner_id].last_change = change


def last_stage_change(partner: Partner) -> StageChange | None:
    return StageChange.objects.filter(partner=partner).select_related("by").first()


# --- Scorecard -------------------------------------------------------------------------


def criteria() -> list[FitCriterion]:
    from .services import criteria_loaded

    return criteria_loaded()


def scorecard_of(partner: Partner) -> FitScorecard | None:
    return (FitScorecard.objects.filter(partner=partner)
            .select_related("updated_by", "nearest_location").first())


def score_history(scorecard: FitScorecard | None, limit: int = HISTORY_LIMIT
                  ) -> list[FitScoreVersion]:
    if scorecard is None:
        return []
    return list(scorecard.versions.select_related("by")[:limit])


@dataclass
class WeightChange:
    at: datetime
    by: Any
    question: str
    old: int | None
    new: int


def weight_history(limit: int = HISTORY_LIMIT) -> list[WeightChange]:
    """Every weight change, newest first: who set which question from what to what (the
    service writes "weight <old> to <new>" as each history row's change reason)."""
    rows = (FitCriterion.history.filter(history_type="~",
                                        history_change_reason__startswith="weight ")
            .select_related("history_user").order_by("-history_date", "-history_id")[:limit])
    changes = []
    for row in rows:
        words = row.history_change_reason.split()
        old = int(words[1]) if len(words) == 4 and words[1].isdigit() else None
        changes.append(WeightChange(at=row.history_date, by=row.history_user,
                                    question=row.question, old=old, new=row.weight))
    return changes
