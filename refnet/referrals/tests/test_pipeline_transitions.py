"""Moving a referral from its page: allowed moves apply, refused ones change nothing."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from refnet.referrals.models import Referral, ReferralEvent
from refnet.referrals.services import referral_transition


@pytest.fixture
def move(login):
    def post(referral, to_status, role="coordinator", **fields):
        data = {"to_status": to_status, "from_status": referral.status, **fields}
        response = login(role).post(reverse("referrals:transition", args=[referral.pk]), data)
        assert response.status_code == 302
        assert response["Location"] == reverse("referrals:detail", args=[referral.pk])
        return [str(m) for m in get_messages(response.wsgi_request)]

    return post


def state(referral) -> tuple[str, str, int]:
    referral.refresh_from_db()
    return referral.status, referral.outcome, referral.events.count()


def test_allowed_move_changes_status_and_says_so(move, make_referral):
    referral = make_referral()

    said = move(referral, "contacted", note="Reached her by phone")

    assert said == ["Moved to Contacted."]
    assert state(referral) == ("contacted", "", 2)
    assert referral.events.last().note == "Reached her by phone"


def test_refused_move_shows_why_and_changes_nothing(move, make_referral, login):
    referral = make_referral()

    said = move(referral, "seen")

    assert said == ["Nothing changed: A referral that is received cannot move to seen."]
    assert state(referral) == ("received", "", 1)
    page = login("coordinator").get(reverse("referrals:detail", args=[referral.pk]))
    assert "cannot move to seen" in page.content.decode()


def test_closing_as_lost_needs_an_outcome(move, make_referral):
    referral = make_referral()

    said = move(referral, "closed_lost", outcome="")

    assert said == ["Nothing changed: Say why the referral closed without a visit."]
    assert state(referral) == ("received", "", 1)


def test_closing_as_lost_with_outcome(move, make_referral, login):
    referral = make_referral()

    move(referral, "closed_lost", outcome="no_response", note="Three calls, no answer")

    assert state(referral) == ("closed_lost", "no_response", 2)
    html = login("coordinator").get(reverse("referrals:detail", args=[referral.pk])) \
        .content.decode()
    assert "No response" in html
    assert "Received → Closed: did not come" in html


def test_closing_as_won_records_became_patient(move, make_referral, users):
    referral = make_referral()
    for status in ["scheduled", "seen"]:
        referral = referral_transition(referral=referral, to_status=status,
                                       by=users["coordinator"])

    move(referral, "closed_won")

    assert state(referral) == ("closed_won", "became_patient", 4)


def test_outcome_sent_with_an_open_move_is_ignored(move, make_referral):
    referral = make_referral()

    move(referral, "contacted", outcome="no_show")

    assert state(referral) == ("contacted", "", 2)


def test_move_from_a_stale_page_is_refused(move, make_referral, users):
    referral = make_referral()
    seen_on_page = Referral.objects.get(pk=referral.pk)  # status "received" on screen
    referral_transition(referral=referral, to_status="scheduled", by=users["manager"])

    # "Contacted" was a button on the stale page; scheduled -> contacted is legal but
    # would undo the booking someone else just made.
    said = move(seen_on_page, "contacted")

    assert "someone moved it after you opened the page" in said[0]
    assert state(referral) == ("scheduled", "", 2)


def test_unknown_status_is_refused_cleanly(move, make_referral):
    referral = make_referral()

    said = move(referral, "teleported")

    assert said[0].startswith("Nothing changed: Select a valid choice.")
    assert state(referral) == ("received", "", 1)


def test_event_records_who_and_when(move, make_referral, users, login):
    referral = make_referral()
    at = datetime(2025, 6, 2, 14, 30, tzinfo=UTC)

    with time_machine.travel(at, tick=False):
        move(referral, "scheduled")

    event = ReferralEvent.objects.get(referral=referral, to_status="scheduled")
    assert (event.by, event.at, event.from_status) == (users["coordinator"], at, "received")
    referral.refresh_from_db()
    assert referral.status_changed_at == at
    html = login("coordinator").get(reverse("referrals:detail", args=[referral.pk])) \
        .content.decode()
    assert "06/02/2025 10:30 AM" in html  # shown in the practice's time zone
    assert "Cora" in html
