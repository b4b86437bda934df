"""A front-desk clerk records a referral with the keyboard only, from a misspelled source,
and finds it in the pipeline."""

import pytest

from refnet.referrals.models import Referral

from .conftest import log_in, wait_for_focus  # noqa: F401  (the other browser tests import log_in from here)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_keyboard_only_intake_with_a_misspelled_source(
    page, live_server, users, location, service_line, make_patient, make_partner, screenshot
):
    users["front_desk"].default_location = location
    users["front_desk"].save()
    patient = make_patient("Ada", "Lovelace")
    smith = make_partner("John Smith, MD")
    make_partner("Riverside Family Medicine", kind="medical_practice")

    log_in(page, live_server, "fran")
    page.wait_for_url("**/referrals/intake/")

    # 1. Patient: focus starts in the patient box. Type, arrow, enter.
    wait_for_focus(page, "#id_patient_query")
    page.keyboard.type("lovelace")
    page.wait_for_selector("#patient-options [role=option]:has-text('Lovelace, Ada')")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "id_source_query"

    # 2. Who can we thank? A misspelling still finds Dr. Smith.
    page.keyboard.type("Jon Smyth")
    page.wait_for_selector("#source-options [role=option]:has-text('John Smith, MD')")
    screenshot("intake-search")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "save"

    # 3. Save with Enter.
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Saved: Ada Lovelace from John Smith, MD")
    referral = Referral.objects.get()
    assert (referral.patient_id, referral.source_partner_id) == (patient.pk, smith.pk)
    assert referral.location_id == location.pk

    # 4. It is in the pipeline.
    page.goto(f"{live_server.url}/referrals/")
    row = page.locator("tr", has_text="Lovelace")
    assert "John Smith, MD" in row.first.inner_text()
    screenshot("pipeline-after-intake")


def test_inline_new_source_and_validation_keep_what_was_typed(
    page, live_server, users, location, make_patient
):
    make_patient("Grace", "Hopper")
    log_in(page, live_server, "fran")
    page.wait_for_url("**/referrals/intake/")
    page.keyboard.type("hopper")
    page.wait_for_selector("#patient-options [role=option]:has-text('Hopper, Grace')")
    page.keyboard.press("Enter")  # Enter alone picks the first match

    page.keyboard.type("Coach Dana")
    # The option for the whole name, not one from a search that ran while typing ("Coa").
    new_source = page.locator("#source-options [role=option]",
                              has_text="Add “Coach Dana” as a new source")
    new_source.wait_for()
    new_source.click()
    assert page.input_value("#id_new_source_name") == "Coach Dana"
    page.select_option("#id_new_source_kind", "local_business")
    page.select_option("#id_new_source_category", "gym_trainer")
    page.fill("#id_new_source_phone", "555-0100")
    page.fill("#id_received_at", "2999-01-01T09:00")
    page.click("#save")

    page.wait_for_selector("text=The received time cannot be in the future.")
    assert page.input_value("#id_new_source_name") == "Coach Dana"
    page.fill("#id_received_at", "")
    page.click("#save")
    page.wait_for_selector("text=Saved: Grace Hopper from Coach Dana")
    assert Referral.objects.get().source_partner.category == "gym_trainer"
