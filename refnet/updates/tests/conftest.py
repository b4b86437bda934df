"""Fixed data for the updates tests: a clock, partners with addresses, helpers."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from refnet.outbox.services import message_enqueue

T0 = datetime(2025, 3, 10, 9, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def clock():
    """clock.at(dt) moves frozen time; starts at T0 (Monday 10 March 2025, 9:00)."""
    with time_machine.travel(T0, tick=False) as traveller:
        class Clock:
            now = T0

            def at(self, when):
                traveller.move_to(when)
                self.now = when
                return when

        yield Clock()


@pytest.fixture
def gym(make_partner):
    return make_partner(name="Iron Works Gym", kind="local_business", category="gym_trainer",
                        email="desk@ironworks.example", cadence_days=30, stage="active")


def contact_partner(partner, *, by=None, purpose="check_in"):
    """An outbound message to the partner now (it counts as contact for the cadence)."""
    return message_enqueue(channel="email", purpose=purpose, audience="general",
                           partner=partner, to_name=partner.name, to_address=partner.email,
                           subject="Hello", body_text="Hello there.", names_patient=False,
                           by=by)
