"""The board: one column per status, with counts and the newest cards."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refnet.referrals.models import Referral, ReferralStatus
from refnet.referrals.services import referral_transition


@pytest.fixture
def board(login):
    def get(role: str = "coordinator", **params):
        return login(role).get(reverse("referrals:board"), params)

    return get


def columns(response) -> dict[str, tuple[int, list[str]]]:
    """{status: (count, [patient names on the cards])}"""
    return {c.status: (c.count, [str(r.patient) for r in c.cards])
            for c in response.context["columns"]}


def move(referral, *statuses, by, outcome=""):
    for status in statuses:
        referral = referral_transition(referral=referral, to_status=status, by=by,
                                       outcome=outcome if status == "closed_lost" else "")
    return referral


def test_one_column_per_status_with_counts(board, make_referral, make_patient, users):
    cora = users["coordinator"]
    for name in ["Ann", "Bea", "Cy"]:
        make_referral(patient=make_patient(name, "Received"))
    for name in ["Di", "Ed"]:
        move(make_referral(patient=make_patient(name, "Contacted")), "contacted", by=cora)
    move(make_referral(patient=make_patient("Flo", "Seen")), "scheduled", "seen", by=cora)
    move(make_referral(patient=make_patient("Gus", "Lost")), "closed_lost", by=cora,
         outcome="no_response")

    response = board()

    assert [c.label for c in response.context["columns"]] == ReferralStatus.labels
    cols = columns(response)
    assert cols["received"][0] == 3
    assert cols["contacted"] == (2, ["Ed Contacted", "Di Contacted"])
    assert cols["scheduled"] == (0, [])
    assert cols["seen"] == (1, ["Flo Seen"])
    assert cols["closed_won"] == (0, [])
    assert cols["closed_lost"] == (1, ["Gus Lost"])
    assert response.context["nav"] == "board"
    assert reverse("referrals:detail", args=[Referral.objects.get(patient__first_name="Gus").pk]) \
        in response.content.decode()


def test_closed_columns_show_the_last_thirty_days_only(board, make_referral, make_patient,
                                                        users):
    cora = users["coordinator"]
    recent = move(make_referral(patient=make_patient("Ann", "Recent")),
                  "scheduled", "seen", "closed_won", by=cora)
    old = move(make_referral(patient=make_patient("Bea", "LongAgo")),
               "scheduled", "seen", "closed_won", by=cora)
    Referral.objects.filter(pk=old.pk).update(
        status_changed_at=timezone.now() - timedelta(days=31)
    )

    response = board()

    assert columns(response)["closed_won"] == (1, [str(recent.patient)])
    assert "Bea LongAgo" not in response.content.decode()


def test_open_columns_show_the_newest_25_of_all(board, make_referral, make_patient,
                                                make_partner):
    patient, partner = make_patient(), make_partner()
    start = timezone.now() - timedelta(days=90)  # old open referrals stay on the board
    made = [make_referral(patient=patient, source_partner=partner,
                          received_at=start + timedelta(hours=i)) for i in range(27)]

    response = board()

    col = next(c for c in response.context["columns"] if c.status == "received")
    assert col.count == 27
    assert [r.pk for r in col.cards] == [r.pk for r in reversed(made)][:25]
    assert "Showing 25 of 27" in response.content.decode()


def test_filter_by_location(board, make_referral, make_patient, other_location):
    make_referral(patient=make_patient("Ann", "Main"))
    make_referral(patient=make_patient("Bea", "West"), location=other_location)

    response = board(location=other_location.pk)

    assert columns(response)["received"] == (1, ["Bea West"])
    assert "Board · Westside Clinic" in response.content.decode()


def test_query_count_does_not_grow_with_cards(board, make_referral, make_patient,
                                              make_partner, other_location, users):
    """Every card shows its patient, location and source: none of them is a query per card,
    per column or per location."""
    def count_queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            response = board()
        return len(ctx.captured_queries), response.content.decode()

    make_referral(patient=make_patient("Ann", "First"))
    board()  # the first request after login also loads and updates the session
    few, _ = count_queries()
    cora = users["coordinator"]
    for i in range(6):
        referral = make_referral(patient=make_patient(f"P{i}", "Card"),
                                 source_partner=make_partner(f"Partner {i}"),
                                 location=other_location)
        move(referral, *["contacted", "scheduled", "seen", "closed_won"][:i % 5], by=cora)

    many, html = count_queries()

    assert many == few
    assert "P5 Card" in html and "Partner 5" in html and "Westside Clinic" in html
