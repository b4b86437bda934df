"""Two people move the same card at once (PostgreSQL, real row locks): one move wins, the
other is told where the card went and changes nothing."""

import threading

import pytest
from django.db import connection, connections

from refnet.prospects.models import StageChange
from refnet.prospects.services import StaleStage, partner_stage_move

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL"),
]


def test_second_of_two_simultaneous_moves_sees_the_first(make_partner, users):
    partner = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def move(user_key: str, to_stage: str) -> None:
        try:
            barrier.wait()
            partner_stage_move(partner=partner, to_stage=to_stage, by=users[user_key],
                               expected_from="prospect")
            outcomes[user_key] = "moved"
        except StaleStage as e:
            outcomes[user_key] = e.messages[0]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=move, args=("outreach", "contacted")),
               threading.Thread(target=move, args=("manager", "declined"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(v == "moved" for v in outcomes.values()) == [False, True]
    [change] = StageChange.objects.all()
    partner.refresh_from_db()
    assert partner.stage == change.to_stage
    loser = next(v for v in outcomes.values() if v != "moved")
    assert f"is already in {change.get_to_stage_display()} (moved by {change.by}" in loser
