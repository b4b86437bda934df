"""The pages, for each role: outreach may use the board and scorecards, front desk may not,
only managers change weights; moves by htmx answer with the board, without JS redirect."""

from decimal import Decimal

import pytest
from django.urls import reverse

from refnet.prospects.models import FitScorecard, StageChange
from refnet.prospects.services import partner_stage_move, scorecard_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def board_data(make_partner, users, answers):
    otto, mona = users["outreach"], users["manager"]
    gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer",
                       owner=otto)
    pt = make_partner("Riverside PT", owner=otto)
    school = make_partner("Lincoln <b>Elementary</b>", kind="community_org",
                          category="school_teacher", owner=mona)
    scorecard_save(partner=pt, answers=answers, by=otto)  # 63
    partner_stage_move(partner=school, to_stage="engaged", by=mona)
    return {"gym": gym, "pt": pt, "school": school}


def test_front_desk_may_not_open_any_page(login, board_data):
    client = login("front_desk")
    pt = board_data["pt"]
    for url in (reverse("prospects:board"), reverse("prospects:scorecard", args=[pt.pk]),
                reverse("prospects:weights")):
        assert client.get(url).status_code == 403
    assert client.post(reverse("prospects:move", args=[pt.pk]),
                       {"to_stage": "contacted"}).status_code == 403
    assert client.get(reverse("partners:detail", args=[pt.pk])).status_code == 200


def test_outreach_sees_their_own_cards_by_default(login, board_data):
    page = login("outreach").get(reverse("prospects:board")).content.decode()
    assert "Peak Fitness Gym" in page and "Riverside PT" in page
    assert "Lincoln" not in page  # Mona's
    assert "Fit 63" in page
    assert 'id="pcard-' in page


def test_manager_sees_everyone_by_default_and_filters(login, board_data, users):
    client = login("manager")
    page = client.get(reverse("prospects:board")).content.decode()
    assert "Peak Fitness Gym" in page
    # Hostile-looking names are text, and the last move is on the card.
    assert "Lincoln &lt;b&gt;Elementary&lt;/b&gt;" in page
    assert "Moved by Mona on" in page
    page = client.get(reverse("prospects:board"),
                      {"owner": users["manager"].pk}).content.decode()
    assert "Peak Fitness Gym" not in page and "Lincoln" in page
    page = client.get(reverse("prospects:board"), {"owner": "all", "kind": "clinician"}
                      ).content.decode()
    assert "Riverside PT" in page and "Peak Fitness Gym" not in page
    # A bad owner falls back to the default rather than failing.
    assert client.get(reverse("prospects:board"), {"owner": "x"}).status_code == 200


def test_columns_are_counted_and_limited(login, users, make_partner, settings, monkeypatch):
    from refnet.prospects import selectors

    monkeypatch.setattr(selectors, "BOARD_COLUMN_LIMIT", 2)
    for i in range(5):
        make_partner(f"Prospect {i}", owner=users["outreach"])
    page = login("outreach").get(reverse("prospects:board")).content.decode()
    assert page.count('class="pcard"') == 2
    assert "3 more in the partner list" in page
    assert f"?stage=prospect&amp;owner={users['outreach'].pk}" in page


def test_htmx_move_answers_with_the_board(login, board_data, users):
    gym = board_data["gym"]
    response = login("outreach").post(
        reverse("prospects:move", args=[gym.pk]),
        {"to_stage": "contacted", "from_stage": "prospect", "owner": "me"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="board"')
    assert "Moved “Peak Fitness Gym” from Prospect to Contacted." in page
    assert "Moved by Otto on" in page
    change = StageChange.objects.get(partner=gym)
    assert (change.by, change.from_stage, change.to_stage) == (users["outreach"], "prospect",
                                                               "contacted")


def test_stale_move_shows_the_error_and_changes_nothing(login, board_data):
    pt = board_data["pt"]
    response = login("outreach").post(
        reverse("prospects:move", args=[pt.pk]),
        {"to_stage": "declined", "from_stage": "contacted"}, HTTP_HX_REQUEST="true")
    assert "“Riverside PT” is already in Prospect; nothing was changed." in (
        response.content.decode())
    assert not StageChange.objects.filter(partner=pt).exists()


def test_move_without_js_redirects_with_a_message(login, board_data):
    client = login("coordinator")
    response = client.post(reverse("prospects:move", args=[board_data["gym"].pk]),
                           {"to_stage": "nonsense", "owner": "all"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("prospects:board"))
    assert "nonsense is not a stage." in response.content.decode()


def test_outreach_fills_in_a_scorecard(login, make_partner, users, location):
    partner = make_partner("Near PT", latitude=Decimal("39.849000"),
                           longitude=Decimal("-89.644000"))
    client = login("outreach")
    url = reverse("prospects:scorecard", args=[partner.pk])
    page = client.get(url).content.decode()
    assert "Don&#x27;t know" in page or "Don't know" in page
    assert "3.45 miles" in page and "Main Street Clinic" in page
    response = client.post(url, {"q_population_age": "4", "q_patient_volume": "",
                                 "why_refer": "No <script>PT</script> nearby"}, follow=True)
    page = response.content.decode()
    # age 4 (w1) + convenience 3/4 (w2): (1 + 1.5) / 3 = 83.3 -> 83
    assert "Saved the scorecard: fit score no score → 83." in page
    assert "No &lt;script&gt;PT&lt;/script&gt; nearby" in page
    assert FitScorecard.objects.get(partner=partner).updated_by == users["outreach"]


def test_scorecard_refuses_a_bad_answer(login, make_partner):
    partner = make_partner()
    response = login("outreach").post(reverse("prospects:scorecard", args=[partner.pk]),
                                      {"q_population_age": "7"})
    assert response.status_code == 200
    assert "Select a valid choice. 7 is not one of the available choices." in (
        response.content.decode())
    assert not FitScorecard.objects.exists()


def test_scorecard_without_coordinates_says_unknown(login, make_partner):
    page = login("outreach").get(
        reverse("prospects:scorecard", args=[make_partner().pk])).content.decode()
    assert "this partner has no coordinates" in page


def test_weights_page_for_managers_only(login, board_data, users):
    assert login("outreach").get(reverse("prospects:weights")).status_code == 403
    client = login("manager")
    response = client.post(reverse("prospects:weights"), {
        **{f"w_{code}": 1 for code in (
            "population_gender", "population_age", "population_lifestyle",
            "population_occupation", "population_philosophy", "reason_to_refer",
            "patient_volume", "referral_frequency", "enough_candidates",
            "refers_to_competitor", "convenience")},
    }, follow=True)
    page = response.content.decode()
    # All weights 1: populations 3.75 + reason .75 + volume .5 + frequency .25 + 1 + 0 = 6.25
    # over 10 answered -> 63 -> 62.5 -> 63: unchanged, so no partner was rescored.
    assert "the fit score changed for 0 partners" in page
    assert "Do they have a reason to refer to us? 2 → 1" in page
    bad = client.post(reverse("prospects:weights"), {"w_population_age": "11"})
    assert "A weight is at most 10." in bad.content.decode()


def test_partner_panel(login, board_data):
    school = board_data["school"]
    page = login("outreach").get(reverse("partners:detail", args=[school.pk])).content.decode()
    assert 'id="fit-panel"' in page
    assert "Not scored yet" in page
    assert "Prospect → Engaged by Mona on" in page
    assert reverse("prospects:scorecard", args=[school.pk]) in page
    pt_page = login("coordinator").get(
        reverse("partners:detail", args=[board_data["pt"].pk])).content.decode()
    assert "<strong>63</strong> / 100" in pt_page
    front = login("front_desk").get(reverse("partners:detail", args=[school.pk]))
    assert 'id="fit-panel"' not in front.content.decode()
