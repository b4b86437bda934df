"""Outreach works the pipeline board in the browser: filter by owner, move a card from
Prospect to Contacted with its Move list (no page reload), reload and see it stay there
with who moved it; then drag another card to Engaged."""

import pytest

from refnet.prospects.models import StageChange
from refnet.prospects.services import scorecard_save

from .test_intake_keyboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pipeline(users, make_partner):
    otto, mona = users["outreach"], users["manager"]
    gym = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer",
                       owner=otto)
    pt = make_partner("Riverside Physical Therapy", owner=otto)
    school = make_partner("Lincoln Elementary", kind="community_org",
                          category="school_teacher", owner=mona)
    scorecard_save(partner=pt, answers={"population_age": 3, "patient_volume": 4}, by=otto)
    return {"gym": gym, "pt": pt, "school": school}


def column(page, stage):
    return page.locator(f"section.col[data-stage={stage}]")


def test_outreach_moves_a_card_and_it_stays_moved(page, live_server, users, pipeline,
                                                 screenshot):
    gym, pt = pipeline["gym"], pipeline["pt"]
    log_in(page, live_server, "otto")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/network/")

    # Mine by default: Mona's school is not on Otto's board until he asks for everyone.
    assert page.get_by_label("Owner").input_value() == "me"
    assert "Lincoln Elementary" not in page.inner_text("#board")
    page.get_by_label("Owner").select_option("all")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("text=Lincoln Elementary")
    page.get_by_label("Owner").select_option(str(users["outreach"].pk))
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("text=Lincoln Elementary", state="detached")
    prospects = column(page, "prospect")
    assert prospects.locator("[data-count]").inner_text() == "2"
    # The best fit comes first.
    assert prospects.locator(".pcard-name").all_inner_texts() == [
        "Riverside Physical Therapy", "Peak Fitness Gym"]
    screenshot("pipeline-board")

    # Keyboard path: the card's Move list offers Contacted first; Enter on Move.
    page.evaluate("window.__noReload = true")
    card = page.locator(f"#pcard-{gym.pk}")
    assert card.get_by_label("Move Peak Fitness Gym to").input_value() == "contacted"
    card.get_by_role("button", name="Move Peak Fitness Gym").focus()
    page.keyboard.press("Enter")
    column(page, "contacted").locator(f"#pcard-{gym.pk}").wait_for()
    assert page.evaluate("window.__noReload") is True
    assert "Moved “Peak Fitness Gym” from Prospect to Contacted." in page.inner_text(
        "#board-status")
    assert column(page, "contacted").locator("[data-count]").inner_text() == "1"
    assert prospects.locator("[data-count]").inner_text() == "1"
    # Focus stays on the moved card, so the keyboard user can carry on.
    assert page.evaluate("document.activeElement.id") == f"move-{gym.pk}"

    page.reload()
    moved = column(page, "contacted").locator(f"#pcard-{gym.pk}")
    assert "Moved by Otto on" in moved.inner_text()
    screenshot("pipeline-board-after-move")
    change = StageChange.objects.get(partner=gym)
    assert (change.by, change.from_stage, change.to_stage) == (
        users["outreach"], "prospect", "contacted")

    # Drag and drop does the same: Riverside to Engaged.
    page.locator(f"#pcard-{pt.pk}").drag_to(column(page, "engaged").locator("ul.pcards"))
    column(page, "engaged").locator(f"#pcard-{pt.pk}").wait_for()
    assert StageChange.objects.get(partner=pt).to_stage == "engaged"
    screenshot("pipeline-board-after-drag")


def test_outreach_fills_in_a_scorecard(page, live_server, users, pipeline, screenshot):
    pt = pipeline["pt"]  # already scored: age 3, volume 4 -> (0.75 + 2) / 3 = 92
    log_in(page, live_server, "otto")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/network/")
    page.locator(f"#pcard-{pt.pk} .pcard-fit").click()
    assert page.inner_text("#fit-score").startswith("92")
    assert "this partner has no coordinates" in page.inner_text("#convenience")
    page.locator("#fit-refers_to_competitor").get_by_label("Yes").check()
    page.get_by_label("Why would they refer to us?").fill("No PT within the building.")
    page.get_by_role("button", name="Save and score").click()
    # + competitor yes, inverted, weight 1: 2.75 / 4 = 68.75 -> 69
    page.wait_for_selector("text=fit score 92 → 69")
    assert page.inner_text("#fit-score").startswith("69")
    rows = page.locator(".fit-history tbody tr").all_inner_texts()
    assert rows[0].split("\t")[1:] == ["92 → 69", "Answers saved", "Otto"]
    screenshot("fit-scorecard")
