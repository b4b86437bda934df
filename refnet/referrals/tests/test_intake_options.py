"""The search boxes' option lists (views/intake_options.py): what static/refnet/intake.js
reads from each option (its action, ids and label), what the person sees, and names that
are hostile or awkward shown as text, never as markup."""

import datetime
import re

from refnet.partners.models import Partner
from refnet.partners.search import Match
from refnet.referrals.models import Patient
from refnet.referrals.views.intake_options import patient_options_html, source_options_html

HOSTILE = "<script>alert(1)</script> & \"Co\" O'Neil"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot; O&#x27;Neil"


def options(html: str) -> list[str]:
    return re.findall(r"<li [^>]*>", html)


def test_patient_options_carry_ids_labels_and_escaped_names():
    patients = [
        Patient(pk=1, first_name="Ada", last_name="Lovelace", birth_date=datetime.date(985, 2, 3),
                phone="(303) 555-0100", mrn="S0001"),
        Patient(pk=22, first_name="Bo", last_name=HOSTILE, birth_date=None, phone="", mrn=""),
    ]
    html = patient_options_html(patients, HOSTILE)

    first, second, new = options(html)
    assert 'data-action="pick" data-id="1" data-label="Ada Lovelace · born 02/03/0985"' in first
    assert f'data-id="22" data-label="Bo {ESCAPED}"' in second
    assert "<span>Lovelace, Ada</span>" in html
    assert 'class="meta">born 02/03/0985 · (303) 555-0100 · MRN S0001<' in html
    assert f'data-action="new" data-label="{ESCAPED}"' in new
    assert f"+ New patient “{ESCAPED}”" in html
    assert "<script>" not in html


def test_no_query_offers_no_new_patient():
    assert options(patient_options_html([], "")) == []


def test_source_options_name_partner_contact_alias_and_the_two_ways_out():
    clinic = Partner(pk=7, name=HOSTILE, kind="clinician", city="Denver")
    gym = Partner(pk=8, name="Gold's Gym", kind="local_business", city="")
    rows = [
        (Match(7, None, HOSTILE, "partner", 95.0, 3), clinic),
        (Match(7, 12, "Dr. Jo O'Hara", "contact", 90.0, 0), clinic),
        (Match(8, None, "Golds", "alias", 80.0, 41), gym),
    ]
    html = source_options_html(rows, "gold")

    partner, contact, alias, new, unknown = options(html)
    assert 'id="source-opt-7-0" data-action="pick" data-id="7" data-contact=""' in partner
    assert f'data-label="{ESCAPED}"' in partner
    assert 'data-id="7" data-contact="12" data-label="Dr. Jo O&#x27;Hara at ' in contact
    assert 'data-id="8"' in alias and "(also known as Golds)" in html
    assert "Clinician</span> · Denver · 3 in 12 mo" in html
    assert "· 41 in 12 mo" in html
    assert 'data-action="new" data-label="gold"' in new and "+ Add “gold” as a new source" in html
    assert 'data-action="unknown"' in unknown
    assert "<script>" not in html


def test_an_empty_query_still_offers_dont_know():
    assert [o for o in options(source_options_html([], "")) if 'data-action="unknown"' in o]
    assert not [o for o in options(source_options_html([], "")) if 'data-action="new"' in o]
