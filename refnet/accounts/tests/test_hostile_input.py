"""Hostile input is shown as text on every surface: pages, fragments, PDFs, emails,
CSV/XLSX exports, the API, FHIR and HL7.

The world (world.py) puts script tags, attribute breakouts, Django template syntax, SQL
and spreadsheet formulas into partner, contact and patient names, notes, free-text sources
and an imported file. Each test opens one surface and checks that the hostile text is
there, as text: escaped in HTML, literal in PDFs, emails and JSON, neutralized in
spreadsheets, and never evaluated (world.evaluated). The permission matrix runs the same
check over every page for every role; these tests make sure each surface really shows the
text, so a surface that silently dropped it would not pass as "safe".
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from email.utils import getaddresses

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from refnet.partners.models import Partner
from refnet.reports.exports import FORMULA_START

from .world import (
    CONTACT_NAME,
    HYPERLINK,
    PARTNER_NAME,
    PATIENT_FIRST,
    PATIENT_LAST,
    SCRIPT,
    SQL,
    TEMPLATE_TAG,
    TEMPLATE_VAR,
    evaluated,
    world_fixture,  # noqa: F401 - the fixture
)

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"


def _page(login, role, url, **headers) -> str:
    client = login(role)  # the suite's login fixture: a session as the role's user
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    assert response["Content-Type"].startswith("text/html"), url
    return response.content.decode()


def _shown_as_text(body: str, *markers: str) -> None:
    """Each marker is on the page, the hostile text around it escaped, nothing evaluated."""
    for marker in markers:
        assert marker in body, f"{marker!r} is not on the page"
    assert ESCAPED_SCRIPT in body or ESCAPED_IMG in body
    assert evaluated(body) == []


# --- HTML pages and htmx fragments -----------------------------------------------------

PAGES = [
    # (what, role, url with {w}, the words that must be on it)
    ("directory", "outreach", "/partners/?q=Zorblax", ["Zorblax"]),
    ("partner detail", "coordinator", "/partners/{w.partner.pk}/",
     ["Zorblax", "Quillon", f"Partner notes {TEMPLATE_VAR} {TEMPLATE_TAG}"]),
    ("referral detail", "coordinator", "/referrals/{w.referral.pk}/",
     ["Qzpatient", "Zorblax", "Quillon", "{{ settings.SECRET_KEY }} &#x27;; DROP TABLE"]),
    ("referral with a free-text source", "coordinator", "/referrals/{w.unknown_referral.pk}/",
     ["Murkwell"]),
    ("patient", "coordinator", "/referrals/patients/{w.patient.pk}/", ["Qzpatient", "Vexa"]),
    ("referral list", "coordinator", "/referrals/", ["Qzpatient"]),
    ("inbox", "coordinator", "/inbox/", ["Zorblax"]),
    ("dashboard", "manager", "/reports/", ["Zorblax"]),
    ("leaderboard report", "manager", "/reports/r/leaderboard/", ["Zorblax"]),
    ("partner health report", "manager", "/reports/r/partner-health/", ["Zorblax"]),
    ("conversion report", "manager", "/reports/r/conversion-by-source/?by=partner",
     ["Zorblax"]),
    ("outbox message", "coordinator", "/messages/{w.message.pk}/", ["Qzpatient", "Quillon"]),
    ("outbox list", "coordinator", "/messages/", ["Zorblax"]),
    ("event", "outreach", "/outreach/events/{w.event.pk}/", ["Talk", "Zorblax"]),
    ("update", "outreach", "/updates/{w.update.pk}/", ["News"]),
    ("rewards log", "coordinator", "/rewards/partner/{w.partner.pk}/", ["Mug", "Zorblax"]),
    ("rewards report", "coordinator", "/rewards/report/", ["Zorblax"]),
    ("plan", "manager", "/plan/", ["Goal", "Step"]),
    ("import check", "admin", "/import/{w.import_job.pk}/", ["Nowhere"]),
    ("finder registry row", "manager", "/finder/imports/", ["npi"]),
    ("api keys", "admin", "/settings/api-keys/", ["EHR"]),
    ("network board", "outreach", "/network/?owner=all", ["Ostrava", "Zorblax"]),
    ("scorecard", "outreach", "/network/fit/{w.partner.pk}/", ["Zorblax"]),
]


@pytest.mark.parametrize("what, role, url, markers", PAGES, ids=[p[0] for p in PAGES])
def test_pages_show_hostile_text_as_text(login, world, what, role, url, markers):
    _shown_as_text(_page(login, role, url.format(w=world)), *markers)


@pytest.mark.parametrize("url, marker", [
    ("/referrals/intake/sources/?q=Zorblax", "Zorblax"),
    ("/referrals/intake/sources/?q=Quillon", "Quillon"),
    ("/referrals/intake/patients/?q=1980-04-12", "Qzpatient"),
])
def test_intake_search_fragments_show_hostile_text_as_text(login, world, url, marker):
    body = _page(login, "front_desk", url, HTTP_HX_REQUEST="true")
    assert "<html" not in body  # the fragment, not a page
    _shown_as_text(body, marker)


def test_an_inbox_action_fragment_shows_hostile_text_as_text(client, login, world):
    login("coordinator")
    response = client.post(f"/inbox/{world.followups['coordinator'].pk}/done/",
                           {"how": "called", "note": SCRIPT}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    _shown_as_text(body, "Zorblax")


def test_the_attribute_breakout_stays_inside_its_attribute(login, world):
    body = _page(login, "coordinator", f"/partners/{world.partner.pk}/")
    assert ESCAPED_IMG in body


@pytest.mark.parametrize("url", ["/partners/?q={q}", "/referrals/intake/sources/?q={q}",
                                 "/referrals/intake/patients/?q={q}", "/referrals/?q={q}"])
def test_sql_in_a_search_box_is_searched_for_not_run(login, world, url):
    before = Partner.objects.count()
    body = _page(login, "coordinator", url.format(q=SQL))
    assert evaluated(body) == []
    assert Partner.objects.count() == before
    assert "partners_partner" in connection.introspection.table_names()


# --- PDFs ------------------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split())  # PDF text comes back with its own line breaks


def test_a_report_pdf_shows_names_literally(client, login, world):
    login("manager")
    response = client.get("/reports/r/leaderboard/?format=pdf")
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Zorblax Clinic <script>alert(1)</script>" in text
    assert evaluated(text, html=False) == []


def test_printed_letters_show_names_and_template_syntax_literally(client, login, world, settings):
    from refnet.outbox.worker import deliver_due

    deliver_due(worker="test")
    world.letter.refresh_from_db()
    assert world.letter.status == "sent"
    login("coordinator")
    response = client.post("/messages/letters/print/")
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Zorblax Clinic <script>alert(1)</script>" in text
    assert TEMPLATE_VAR in text  # the letter's own text, not the secret key
    assert evaluated(text, html=False) == []


# --- Email -----------------------------------------------------------------------------


def test_an_email_shows_hostile_names_literally_in_text_and_escaped_in_html(world, settings):
    from refnet.outbox.worker import deliver_due

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    deliver_due(worker="test")
    sent = [m for m in mail.outbox if "quillon@clinic.example" in m.to[0]]
    assert len(sent) == 1
    email = sent[0]
    # The text part: values as they are, the template syntax in them not run.
    assert CONTACT_NAME in email.body and PATIENT_LAST in email.body
    assert TEMPLATE_TAG in email.body and TEMPLATE_VAR in email.body
    assert evaluated(email.body, html=False) == []
    html = email.alternatives[0][0]
    assert ESCAPED_SCRIPT in html and "Quillon" in html and "Qzpatient" in html
    assert evaluated(html) == []
    # The name stays inside the To header: one recipient, the contact's address.
    assert [address for _name, address in getaddresses(email.message().get_all("To"))] == [
        "quillon@clinic.example"]
    assert "\n" not in email.subject


def test_the_template_preview_renders_hostile_sample_values_as_text(client, login, world):
    """A manager's template is code (a safe subset); partner data inside it is not."""
    login("manager")
    response = client.post("/messages/templates/preview/", {
        "purpose": "check_in", "channel": "email", "audience": "general",
        "subject": "Hi {{ partner.name }}", "body": "Dear {{ partner.greeting }}, " + SCRIPT})
    assert response.status_code == 200
    assert evaluated(response.content.decode()) == []


# --- CSV and XLSX ----------------------------------------------------------------------


def _is_number(cell: str) -> bool:
    try:
        float(cell.replace(",", "").removesuffix("%"))
    except ValueError:
        return False
    return True


def _formula_cells(rows) -> list[str]:
    """Cells a spreadsheet would run as a formula: starting with = + - @ tab or CR, and not
    just a number (a spreadsheet reads -2 as the number it is)."""
    return [cell for row in rows for cell in row
            if isinstance(cell, str) and cell.startswith(FORMULA_START) and not _is_number(cell)]


def _content(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx_rows(content: bytes) -> tuple[list[list], list[str]]:
    book = load_workbook(io.BytesIO(content))
    rows, formulas = [], []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            rows.append([c.value for c in row])
            formulas += [c.coordinate for c in row if c.data_type == "f"]
    return rows, formulas


def _period() -> str:
    today = timezone.localdate()
    return f"start={today - timedelta(days=60)}&end={today}"


EXPORTS = [
    ("manager", "/reports/r/leaderboard/?format={fmt}"),
    ("manager", "/reports/r/partner-health/?format={fmt}"),
    ("manager", "/reports/r/conversion-by-source/?by=partner&format={fmt}"),
    ("coordinator", "/reports/r/referrals-over-time/rows/?{period}&format={fmt}"),
]


@pytest.mark.parametrize("role, url", EXPORTS)
def test_report_csv_neutralizes_formulas(client, login, world, role, url):
    login(role)
    response = client.get(url.format(fmt="csv", period=_period()))
    assert response.status_code == 200
    rows = _csv_rows(_content(response))
    text = json.dumps(rows)
    assert "Zorblax" in text
    assert _formula_cells(rows) == []
    assert "'" + HYPERLINK[:10] in text  # there, with its quote


@pytest.mark.parametrize("role, url", EXPORTS)
def test_report_xlsx_has_no_formula_cells(client, login, world, role, url):
    login(role)
    response = client.get(url.format(fmt="xlsx", period=_period()))
    assert response.status_code == 200
    rows, formulas = _xlsx_rows(_content(response))
    assert "Zorblax" in json.dumps(rows, default=str)
    assert formulas == []


def test_the_patient_rows_export_neutralizes_every_hostile_field(client, login, world):
    login("coordinator")
    response = client.get(f"/reports/r/referrals-over-time/rows/?{_period()}&format=csv")
    rows = _csv_rows(_content(response))
    cells = [c for row in rows for c in row]
    assert "'" + PARTNER_NAME in cells  # the formula neutralized, the rest as it is
    assert f"'{PATIENT_LAST}, {PATIENT_FIRST}" in cells
    assert _formula_cells(rows) == []


def test_the_rewards_report_csv_neutralizes_formulas(client, login, world):
    login("coordinator")
    response = client.get(f"/rewards/report.csv?year={timezone.localdate().year}")
    assert response.status_code == 200
    rows = _csv_rows(_content(response))
    assert "Zorblax" in json.dumps(rows)
    assert _formula_cells(rows) == []


def test_the_import_problems_csv_neutralizes_formulas(client, login, world):
    login("admin")
    response = client.get(f"/import/{world.import_job.pk}/problems.csv")
    assert response.status_code == 200
    rows = _csv_rows(_content(response))
    assert len(rows) > 1 and "Nowhere" in json.dumps(rows)
    assert _formula_cells(rows) == []


# --- The API, FHIR and HL7: data comes back verbatim -----------------------------------


@pytest.fixture
def key(world):
    from refnet.api.keys import api_key_create
    from refnet.api.models import ApiResource

    def make(role="admin"):
        return api_key_create(name="test", role=role, resources=list(ApiResource.values),
                              can_read=True, can_write=True, by=None)[1]

    return make


def test_the_api_returns_stored_text_verbatim(client, world, key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key()}"}
    partner = client.get(f"/api/partners/{world.partner.pk}", **auth).json()
    assert partner["name"] == PARTNER_NAME
    contacts = client.get(f"/api/partners/{world.partner.pk}/contacts", **auth).json()
    assert [c["name"] for c in contacts["results"]] == [CONTACT_NAME]
    referral = client.get(f"/api/referrals/{world.referral.pk}", **auth).json()
    assert referral["patient"]["last_name"] == PATIENT_LAST
    assert referral["patient"]["first_name"] == PATIENT_FIRST
    unknown = client.get(f"/api/referrals/{world.unknown_referral.pk}", **auth).json()
    assert unknown["source_text"] == world.unknown_referral.source_text  # as stored (trimmed)
    assert "Murkwell <script>alert(1)</script> {{ settings.SECRET_KEY }}" in unknown["source_text"]
    assert referral["reason"] == world.referral.reason
    found = client.get("/api/partners", {"q": SQL}, **auth)
    assert found.status_code == 200 and Partner.objects.filter(pk=world.partner.pk).exists()


def test_the_api_stores_hostile_text_verbatim(client, world, key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key()}"}
    name = f"{HYPERLINK} {SCRIPT} {TEMPLATE_VAR} {SQL}"
    response = client.post("/api/partners", {"kind": "clinician", "name": name},
                           content_type="application/json", **auth)
    assert response.status_code == 201, response.content
    assert response.json()["name"] == name
    assert Partner.objects.get(pk=response.json()["id"]).name == name


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_fhir_returns_stored_text_verbatim(client, world, key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key()}"}
    body = client.get(f"/fhir/ServiceRequest/{world.referral.pk}", **auth).json()
    strings = _strings(body)
    assert PATIENT_LAST in strings and PATIENT_FIRST in strings
    assert any(PARTNER_NAME in s for s in strings)
    bundle = client.get("/fhir/ServiceRequest", {"requester": SQL}, **auth)
    assert bundle.status_code in (200, 400) and Partner.objects.exists()


def test_fhir_and_hl7_store_hostile_names_verbatim(client, world, key):
    from refnet.fhir.tests.conftest import golden
    from refnet.hl7.tests.conftest import sample, with_field
    from refnet.referrals.models import Patient

    auth = {"HTTP_AUTHORIZATION": f"Bearer {key()}"}
    resource = golden("inbound_practitioner_role.json")
    family = f"{SCRIPT} {TEMPLATE_VAR} {SQL}"
    for contained in resource["contained"]:
        if contained["resourceType"] == "Patient":
            for name in contained["name"]:
                name["family"] = family
    response = client.post("/fhir/ServiceRequest", json.dumps(resource),
                           content_type="application/fhir+json", **auth)
    assert response.status_code in (200, 201), response.content
    assert Patient.objects.filter(last_name=family).exists()

    # HL7 escapes its own delimiters (\S\ is ^); everything else arrives as sent.
    hl7_family = f"{SCRIPT} {TEMPLATE_VAR} '; DROP TABLE x; --"
    message = with_field(sample("2.5"), "PID", 5, f"{hl7_family}\\S\\x^Linh")
    response = client.post("/hl7/", message, content_type="x-application/hl7-v2+er7", **auth)
    assert response.status_code == 200, response.content
    assert "|AA|" in response.content.decode()
    assert Patient.objects.filter(last_name=f"{hl7_family}^x").exists()


def _email_parts_are_right(email) -> None:
    """Text part: the text itself (no HTML entities, nothing run). HTML part: escaped once."""
    assert "&lt;" not in email.body and "&amp;" not in email.body
    assert evaluated(email.body, html=False) == []
    assert "\n" not in email.subject and "\r" not in email.subject
    for html, _type in email.alternatives:
        assert evaluated(html) == []
        assert "&amp;lt;" not in html  # not escaped twice


def test_invitations_show_the_event_and_partner_literally(world, settings):
    from refnet.outbox.worker import deliver_due
    from refnet.outreach.ics import parse_event
    from refnet.outreach.services import invitations_send

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # A line break in the title must not start a new calendar property or email header.
    world.event.title += "\r\nATTENDEE:mailto:evil@example.com"
    world.event.save(update_fields=["title"])
    invitations_send(event=world.event, by=world.users["outreach"])
    deliver_due(worker="test")
    invites = [m for m in mail.outbox if m.subject.startswith("Invitation")]
    assert invites
    for email in invites:
        assert f"Talk {SCRIPT} {TEMPLATE_VAR} ATTENDEE:mailto:evil" in email.subject
        assert f"Talk {SCRIPT} {TEMPLATE_VAR}" in email.body
        _email_parts_are_right(email)
        ics = next(a for a in email.attachments if a[0].endswith(".ics"))
        event = parse_event(ics[1] if isinstance(ics[1], str) else ics[1].decode())
        # One attendee, the invitee; the title is one SUMMARY, its line break escaped.
        address = email.to[0].split("<")[-1].rstrip(">")
        assert [value for _params, value in event["ATTENDEE"]] == [f"mailto:{address}"]
        assert event["SUMMARY"][0][1].replace("\n", "\r\n") == world.event.title


def test_the_digest_names_partners_literally(world):
    from refnet.followups.models import FollowUp, FollowUpKind
    from refnet.reports.digest import digest_build, digest_html, digest_text, period_containing

    now = timezone.now()
    FollowUp.objects.create(key="world:thank", kind=FollowUpKind.THANK_REFERRER,
                            partner=world.partner, assignee=world.users["manager"],
                            due_at=now - timedelta(days=1), original_due_at=now,
                            summary="Thank them")
    digest = digest_build(user=world.users["manager"],
                          period=period_containing("weekly", timezone.localdate()))
    text, html = digest_text(digest), digest_html(digest)
    assert PARTNER_NAME in text and evaluated(text, html=False) == []
    assert "Zorblax" in html and ESCAPED_SCRIPT in html and evaluated(html) == []


def test_every_module_that_writes_a_spreadsheet_neutralizes_formulas():
    """A new export cannot forget: each module that writes CSV uses reports.exports'
    neutralize, and each that writes XLSX stores text cells as text (data_type "s")."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    # Writes a synthetic NPPES file for tests and benchmarks: our own data, not a user's.
    not_exports = {"registry/synthetic.py"}
    wrong = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if "/tests/" in f"/{name}" or "/migrations/" in name or name in not_exports:
            continue
        source = path.read_text()
        if "csv.writer(" in source and "neutralize(" not in source:
            wrong.append(f"{name}: writes CSV without neutralize()")
        if "Workbook(" in source and 'data_type = "s"' not in source:
            wrong.append(f"{name}: writes XLSX without making text cells text")
    assert wrong == []


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)",
                                 "data:text/html,<script>alert(1)</script>"])
def test_a_website_link_is_never_a_script(client, login, world, key, url):
    """The partner page links the website: only http(s) addresses may be stored."""
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key()}"}
    created = client.post("/api/partners", {"kind": "clinician", "name": "Web", "website": url},
                          content_type="application/json", **auth)
    patched = client.patch(f"/api/partners/{world.partner.pk}", {"website": url},
                           content_type="application/json", **auth)
    assert created.status_code == 422 and patched.status_code == 422
    login("coordinator")
    client.post(f"/partners/{world.partner.pk}/edit/", {"name": "Web", "kind": "clinician",
                                                         "website": url})
    assert not Partner.objects.filter(website__icontains="alert").exists()


def test_a_published_update_shows_its_text_and_the_partner_literally(world, settings):
    """An update's body is a template in refnet's safe subset; what it is filled with
    (partner names, greetings) is text, in the text and the HTML part."""
    from refnet.outbox.models import OutboxMessage
    from refnet.updates.services import update_publish

    update_publish(update=world.update, by=world.users["outreach"])
    sent = list(OutboxMessage.objects.filter(purpose="partner_update"))
    assert sent, "the update reached no one"
    for message in sent:
        assert "Body with '; DROP TABLE partners_partner; --" in message.body_text
        assert '"><img src=x onerror=alert(1)>' in message.body_text
        assert evaluated(message.body_text, html=False) == []
        if message.body_html:
            assert "&lt;img src=x onerror=alert(1)&gt;" in message.body_html
            assert evaluated(message.body_html) == []
            assert "&amp;lt;" not in message.body_html


def test_imported_partners_keep_hostile_text_as_text(login, world, tmp_path):
    """A spreadsheet from another system: its names and notes land verbatim, and show as
    text in the directory and as neutralized cells when exported again."""
    from refnet.imports.models import ImportMode, JobStatus
    from refnet.imports.services import job_commit, job_set_choices, job_start

    name = f"@SUM(A1:A9) Imported Yarrow {SCRIPT}"
    notes = f"{TEMPLATE_VAR} {TEMPLATE_TAG} {SQL}"
    path = tmp_path / "partners.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["Kind", "Name", "Notes"], ["clinician", name, notes]])
    job, _ = job_start(path=path, file_name="partners.csv", kind="partners",
                       source=f"CRM {SCRIPT}", by=world.users["manager"])
    job = job_commit(job=job_set_choices(job=job, mode=ImportMode.ALL_OR_NOTHING,
                                         decisions={}))
    assert job.status == JobStatus.DONE, job.report
    partner = Partner.objects.get(name=name)
    assert partner.notes == notes
    _shown_as_text(_page(login, "outreach", "/partners/?q=Yarrow"), "Imported Yarrow")
    _shown_as_text(_page(login, "outreach", f"/partners/{partner.pk}/"),
                   notes.replace("'", "&#x27;"))
