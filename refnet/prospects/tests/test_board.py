"""The board's columns: counts without merged partners, best fit first, then the newest
unscored, referral figures and the last move on each card."""

from datetime import timedelta

import pytest
from django.utils import timezone

from refnet.partners.services import partner_merge
from refnet.prospects.selectors import pipeline_board
from refnet.prospects.services import partner_stage_move, scorecard_save

pytestmark = pytest.mark.django_db


def test_columns_order_count_and_figures(make_partner, make_referral, users):
    otto = users["outreach"]
    old, low, high, new = (make_partner(n, owner=otto) for n in ("Old", "Low", "High", "New"))
    scorecard_save(partner=low, answers={"population_age": 1}, by=otto)   # 25
    scorecard_save(partner=high, answers={"population_age": 4}, by=otto)  # 100
    dup = make_partner("High (duplicate)", owner=otto)
    partner_merge(survivor=high, duplicate=dup, by=otto)
    now = timezone.now()
    make_referral(source_partner=new, received_at=now - timedelta(days=400))
    make_referral(source_partner=new, received_at=now - timedelta(days=10))
    make_referral(source_partner=new, received_at=now - timedelta(days=3))
    engaged = make_partner("Engaged one", owner=users["manager"])
    partner_stage_move(partner=engaged, to_stage="engaged", by=users["manager"])

    columns = {c.stage: c for c in pipeline_board(now=now)}
    prospect = columns["prospect"]
    assert prospect.count == 4  # the merged duplicate is not counted
    assert [c.partner.name for c in prospect.cards] == ["High", "Low", "New", "Old"]
    assert [c.score for c in prospect.cards] == [100, 25, None, None]
    new_card = prospect.cards[2]
    assert new_card.referrals_12m == 2
    assert timezone.localdate(new_card.last_referral_at) == timezone.localdate(
        now - timedelta(days=3))
    [card] = columns["engaged"].cards
    assert card.last_change.by == users["manager"]
    assert columns["active"].count == 0 and columns["active"].cards == []

    mine = {c.stage: c for c in pipeline_board(owner=users["manager"])}
    assert (mine["prospect"].count, mine["engaged"].count) == (0, 1)
    nobody = {c.stage: c for c in pipeline_board(unowned=True)}
    assert sum(c.count for c in nobody.values()) == 0
    assert pipeline_board(kind="local_business", limit=1)[0].count == 0


def test_limit_shows_the_top_cards_and_counts_the_rest(make_partner, users):
    for i in range(4):
        make_partner(f"P{i}")
    [prospect, *_] = pipeline_board(limit=3)
    assert (prospect.count, len(prospect.cards), prospect.more) == (4, 3, 1)
    assert [c.partner.name for c in prospect.cards] == ["P3", "P2", "P1"]  # newest first


def test_removed_and_merged_partners_are_neither_counted_nor_shown(make_partner, users):
    from refnet.partners.services import partner_remove

    otto = users["outreach"]
    kept, gone, dup = (make_partner(n, owner=otto) for n in ("Kept", "Gone", "Dup"))
    scorecard_save(partner=gone, answers={"population_age": 4}, by=otto)
    scorecard_save(partner=kept, answers={"population_age": 1}, by=otto)
    partner_remove(partner=gone, by=otto, reason="closed")
    partner_merge(survivor=kept, duplicate=dup, by=otto)
    moved = make_partner("Moved on", owner=otto)
    scorecard_save(partner=moved, answers={"population_age": 4}, by=otto)
    partner_stage_move(partner=moved, to_stage="contacted", by=otto)

    for board in (pipeline_board(), pipeline_board(owner=otto)):
        columns = {c.stage: c for c in board}
        assert columns["prospect"].count == 1
        assert [c.partner.name for c in columns["prospect"].cards] == ["Kept"]
        assert [c.partner.name for c in columns["contacted"].cards] == ["Moved on"]
