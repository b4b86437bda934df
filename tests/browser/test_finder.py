"""A manager grows the network from the registry in the browser: uploads a small NPPES
file (the import runs in the background and its row shows progress until done, with the
malformed row listed by line), opens the finder and sees nearby clinicians ranked by
complementary specialty, distance and practice size (an existing partner, a dentist and an
out-of-state clinician left out), adds a chiropractor as a prospect owned by Otto, and finds
the card on the pipeline board; Otto finds the first follow-up in his inbox."""

from decimal import Decimal

import pytest

from refnet.followups.models import FollowUp, FollowUpKind
from refnet.partners.models import Partner
from refnet.practice.models import Location, ServiceLine, ZipCentroid
from refnet.registry.models import ComplementaryPair, ImportStatus, RegistryImport
from refnet.registry.synthetic import npi, write_nppes
from refnet.registry.tests.conftest import person

from .conftest import ARTIFACTS
from .test_intake_keyboard import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CENTRES = {"80206": ("39.726600", "-104.952600"),  # the clinic's ZIP
           "80209": ("39.706800", "-104.965200"),  # ~1.5 miles away
           "80231": ("39.672000", "-104.886000")}  # ~5 miles away


@pytest.fixture
def practice(users, make_partner, settings, tmp_path):
    settings.DATA_DIR = tmp_path  # where uploads are saved
    for code, (lat, lng) in CENTRES.items():
        ZipCentroid.objects.create(zip_code=code, city="Denver", state="CO",
                                   latitude=Decimal(lat), longitude=Decimal(lng))
    Location.objects.create(name="Cherry Creek Clinic", city="Denver", state="CO",
                            zip_code="80206", latitude=Decimal(CENTRES["80206"][0]),
                            longitude=Decimal(CENTRES["80206"][1]))
    ServiceLine.objects.create(name="Orthopaedics")
    ComplementaryPair.objects.all().delete()  # the seeded table, pinned for this test
    for taxonomy, label, offers, weight in [
        ("2251", "Physical therapy", "orthop", "1.00"),
        ("111N", "Chiropractic", "orthop", "0.80"),
        ("207Q", "Family medicine", "", "0.90"),
    ]:
        ComplementaryPair.objects.create(taxonomy=taxonomy, label=label,
                                         practice_offers=offers, weight=weight)
    make_partner("Gus Already, PT", npi=npi("100000906"))
    rows = [
        # Two PTs sharing a site at the clinic's ZIP: 1.0 fit x 1.0 x 1.2 (2 clinicians).
        person("100000901", first="BO", last="CHEN", address="100 MAIN ST"),
        person("100000902", first="ANA", last="RIVERA", address="100 MAIN ST"),
        # A chiropractor ~1.5 miles away, solo: 0.8 x 1.0 x 1.0.
        person("100000903", first="CARL", last="DIAZ", credential="DC", zip_code="80209",
               taxonomies=("111N00000X",), address="7 ELM ST"),
        # Family medicine ~5 miles away: 0.9 x 0.8 (within 10 miles).
        person("100000904", first="DORA", last="PARK", credential="MD", zip_code="80231",
               taxonomies=("207Q00000X",), address="9 OAK AVE"),
        # Not listed: a dentist (no complementary pair), a partner already, another state.
        person("100000905", first="EVE", last="SMILE", credential="DDS",
               taxonomies=("1223G0001X",), address="3 PINE ST"),
        person("100000906", first="GUS", last="ALREADY", address="5 ASH ST"),
        person("100000907", first="HAL", last="WYOMING", state="WY", address="1 FAR RD"),
        # Malformed: a ZIP with letters (line 9: the header is line 1).
        person("100000908", first="IDA", last="TYPO", zip_code="8O2O6"),
    ]
    path = tmp_path / "npidata_pfile_20260101-20261201.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        write_nppes(out, rows)
    return path


def test_manager_imports_finds_and_adds_a_prospect_that_reaches_board_and_inbox(
        browser, page, live_server, users, practice, screenshot):
    log_in(page, live_server, "mona")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    # Upload the registry file, keeping Colorado; the row polls until the import is done.
    page.goto(f"{live_server.url}/finder/imports/")
    page.locator("select[name=kind]").select_option("nppes")
    page.get_by_label("CSV file").set_input_files(str(practice))
    page.get_by_label("Keep states").fill("co")
    page.get_by_role("button", name="Import").click()
    row = page.locator("tbody tr", has_text="npidata_pfile_20260101-20261201.csv")
    row.locator(".badge", has_text="Done").wait_for(timeout=30_000)
    assert "100%" in row.inner_text()
    assert "8 read · 6 kept · 1 malformed" in " ".join(row.inner_text().split())
    row.get_by_text("Malformed rows (1)").click()
    assert ("line 9, Provider Business Practice Location Address Postal Code: "
            "'8O2O6' is not a ZIP code") in row.inner_text()
    screenshot("finder-import-done")
    record = RegistryImport.objects.get()
    assert (record.status, record.states) == (ImportStatus.DONE, "CO")

    # The finder ranks the four complementary clinicians nearby, best first.
    page.get_by_role("link", name="← Finder").click()
    page.wait_for_url("**/finder/")
    assert page.inner_text("#finder-status").startswith("4 matches within 25 miles")
    table = page.locator("table.finder-table tbody tr")
    who = [t.split("\n")[0] for t in table.locator("td:nth-child(2)").all_inner_texts()]
    assert who == ["Ana Rivera, PT", "Bo Chen, PT", "Carl Diaz, DC", "Dora Park, MD"]
    scores = table.locator("td:nth-child(1)").all_inner_texts()
    assert scores == ["120", "120", "80", "72"]
    assert "2 clinicians at the site" in table.nth(0).inner_text()
    carl = page.locator(f"#finder-{npi('100000903')}")
    assert "Chiropractic" in carl.inner_text()
    assert "1.5 mi from Cherry Creek Clinic" in carl.inner_text()
    assert "solo" in carl.inner_text()
    screenshot("finder-ranked")

    # Add the chiropractor as a prospect owned by Otto (no page reload).
    page.evaluate("window.__noReload = true")
    carl.get_by_label("Owner").select_option(label="Otto")
    carl.get_by_role("button", name="Add as prospect").click()
    added = page.locator(f"#finder-{npi('100000903')}.finder-added")
    added.wait_for()
    assert page.evaluate("window.__noReload") is True
    assert ("Carl Diaz, DC is a prospect owned by Otto; the first follow-up is in their "
            "inbox") in " ".join(added.inner_text().split())
    screenshot("finder-added")
    partner = Partner.objects.get(npi=npi("100000903"))
    assert (partner.stage, partner.owner, partner.kind) == (
        "prospect", users["outreach"], "clinician")

    # Reloaded, the finder no longer lists him.
    page.reload()
    assert page.inner_text("#finder-status").startswith("3 matches")
    assert page.locator(f"#finder-{npi('100000903')}").count() == 0

    # The pipeline board shows the new prospect under Otto.
    page.goto(f"{live_server.url}/network/")
    page.get_by_label("Owner").select_option(str(users["outreach"].pk))
    page.get_by_role("button", name="Show").click()
    card = page.locator(f"section.col[data-stage=prospect] #pcard-{partner.pk}")
    card.wait_for()
    assert "Carl Diaz, DC" in card.inner_text()
    screenshot("finder-prospect-on-board")

    # Otto's inbox has the first follow-up, due in two business days.
    followup = FollowUp.objects.get(partner=partner)
    assert (followup.kind, followup.assignee) == (FollowUpKind.PROSPECT, users["outreach"])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        otto = context.new_page()
        otto.set_default_timeout(10_000)
        log_in(otto, live_server, "otto")
        otto.wait_for_url(lambda url: "/accounts/login/" not in url)
        otto.goto(f"{live_server.url}/inbox/")
        item = otto.locator(".inbox-row", has_text="Introduce the practice to Carl Diaz, DC")
        item.wait_for()
        assert "Introduce the practice" in item.inner_text()
        otto.screenshot(path=str(ARTIFACTS / "finder-followup-in-owner-inbox.png"),
                        full_page=True)
    finally:
        context.close()
