"""One referral's page: facts, patient, clinical fields, timeline, the moves on offer."""

from datetime import date

import pytest
from django.urls import reverse

from refnet.accounts.models import Role
from refnet.accounts.permissions import CAPABILITIES, Cap
from refnet.referrals.models import Referral
from refnet.referrals.services import referral_record, referral_transition


@pytest.fixture
def referral(make_partner, make_contact, make_patient, location, service_line, users):
    partner = make_partner("John Smith, MD")
    contact = make_contact(partner, "Janet Okafor")
    patient = make_patient("Ada", "Synthetic", birth_date=date(1980, 4, 2), phone="217-555-0100",
                           may_thank_referrer=True, notes="Allergic to latex")
    r = referral_record(patient=patient, source_partner=partner, source_contact=contact,
                        location=location, service_line=service_line, channel="fax",
                        priority="urgent", reason="Low back pain after a fall",
                        diagnosis="M54.5", by=users["front_desk"])
    Referral.objects.filter(pk=r.pk).update(assigned_to=users["coordinator"])
    return r


def detail(client, referral):
    return client.get(reverse("referrals:detail", args=[referral.pk]))


def test_shows_patient_source_and_referral_facts(login, referral):
    html = detail(login("coordinator"), referral).content.decode()

    for text in ["Ada Synthetic", "04/02/1980", "217-555-0100", "Yes, authorized",
                 "John Smith, MD", "Janet Okafor", "Main Street Clinic", "Physical therapy",
                 "Fax", "Urgent", "Cora"]:
        assert text in html, text
    assert reverse("partners:detail", args=[referral.source_partner_id]) in html
    assert reverse("referrals:patient_detail", args=[referral.patient_id]) in html


def test_clinical_fields_shown_to_roles_with_clinical_view(login, referral):
    html = detail(login("front_desk"), referral).content.decode()

    assert "Low back pain after a fall" in html
    assert "M54.5" in html
    assert "Allergic to latex" in html


def test_clinical_fields_hidden_without_clinical_view(login, referral, monkeypatch):
    # No role holds referrals.view without clinical.view today; the page must still follow
    # the table if a practice narrows it.
    monkeypatch.setitem(CAPABILITIES, Cap.CLINICAL_VIEW, {Role.COORDINATOR, Role.ADMIN})

    response = detail(login("front_desk"), referral)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ada Synthetic" in html
    for secret in ["Low back pain after a fall", "M54.5", "Allergic to latex"]:
        assert secret not in html


def test_timeline_shows_who_when_from_to_and_note(login, referral, users):
    referral_transition(referral=referral, to_status="contacted", by=users["coordinator"],
                        note="Left a voicemail")

    response = detail(login("coordinator"), referral)

    html = response.content.decode()
    assert "Recorded (Fax)" in html
    assert "Fran" in html  # who recorded it
    assert "Received → Contacted" in html
    assert "Left a voicemail" in html
    events = list(response.context["events"])
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", "received"), ("received", "contacted")]


def test_offers_exactly_the_allowed_moves(login, referral):
    html = detail(login("coordinator"), referral).content.decode()

    for status in ["contacted", "scheduled", "closed_lost"]:
        assert f'name="to_status" value="{status}"' in html
    for status in ["received", "seen", "closed_won"]:
        assert f'name="to_status" value="{status}"' not in html
    assert '<select id="lost-outcome" name="outcome" required>' in html


def test_closed_referral_offers_no_moves(login, referral, users):
    referral_transition(referral=referral, to_status="closed_lost", outcome="insurance",
                        by=users["coordinator"])

    html = detail(login("coordinator"), referral).content.decode()

    assert 'name="to_status"' not in html
    assert "cannot move again" in html
    assert "Insurance or cost" in html


def test_unknown_referral_is_404(login, db):
    assert login("coordinator").get(reverse("referrals:detail", args=[999999])).status_code \
        == 404


def test_the_referral_is_read_with_few_joins(login, referral):
    """PostgreSQL plans a join of eight tables in ~6 ms (and runs it in 0.2 ms): a
    referral's page, one of the busiest, reads its referral with at most four joins, and
    the page still shows everything it showed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login("coordinator")
    with CaptureQueriesContext(connection) as queries:
        html = detail(client, referral).content.decode()
    reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "referrals_referral"."id"')
             and f'"referrals_referral"."id" = {referral.pk}' in q["sql"]]
    assert len(reads) == 1
    assert reads[0].count(" JOIN ") <= 4
    for text in ["Physical therapy", "Cora", "Janet Okafor", "Main Street Clinic"]:
        assert text in html, text
