"""What the front desk's requests cost the database: the busiest pages of the load test
(bench/load/locustfile.py) are a fixed, small number of queries, and only a save or an
audit row writes; the session row is not rewritten on every request."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.referrals.models import Referral
from refnet.referrals.services import referral_record

INTAKE = reverse("referrals:intake")


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


@pytest.fixture
def desk(login, make_patient, make_partner):
    for n in range(12):
        make_patient("Ada", f"Smith{n}")
    make_partner("Family Practice of Smithville")
    client = login("front_desk")
    client.get(INTAKE)  # the first request of a session records its last-seen time
    return client


def test_the_front_desks_requests_write_no_session_row(desk):
    with CaptureQueriesContext(connection) as queries:
        desk.get(INTAKE)
        desk.get(reverse("referrals:patient_search"), {"q": "smi"})
        desk.get(reverse("referrals:source_search"), {"q": "family"})
    assert not [sql for sql in writes(queries) if "django_session" in sql]
    # What they do write is the audit trail of the patients they showed.
    assert {re.search(r'(?:INTO|UPDATE|FROM) "?(\w+)', sql).group(1)
            for sql in writes(queries)} <= {
        "accounts_auditevent", "accounts_auditchainhead"}


def test_the_intake_page_is_a_fixed_number_of_queries(desk, make_patient, location):
    with CaptureQueriesContext(connection) as before:
        desk.get(INTAKE)
    for n in range(5):  # the ask-again list grows
        referral_record(patient=make_patient("Ask", f"Again{n}"), source_unknown=True,
                        location=location, by=None)
    with CaptureQueriesContext(connection) as after:
        response = desk.get(INTAKE)
    assert response.status_code == 200
    assert len(after) == len(before)
    # session, user, ask-again list, its audit rows (head, INSERT, head UPDATE; on SQLite
    # also BEGIN and COMMIT), inbox badge, the locations and service lines (one statement)
    assert len(after) <= 10


@pytest.mark.django_db(transaction=True)
def test_a_save_is_one_transaction_with_its_audit_row(desk, location, make_patient):
    patient = make_patient("Grace", "Hopper")
    data = {"patient_mode": "existing", "patient": patient.pk, "source_mode": "unknown",
            "source_text": "a friend", "location": location.pk, "channel": "front_desk"}
    with CaptureQueriesContext(connection) as queries:
        response = desk.post(INTAKE, data)
    assert response.status_code == 302
    referral = Referral.objects.get(patient=patient)
    assert AuditEvent.objects.filter(patient_id=patient.pk, action=AuditAction.CREATE,
                                     what=f"referral:{referral.pk}").count() == 1
    if connection.vendor == "sqlite":
        begins = [q for q in queries if q["sql"].startswith("BEGIN")]
        assert len(begins) == 1  # the write lock is taken once per save


def test_the_blank_form_rendered_once_still_follows_locations_and_the_user(
        login, users, location, other_location, service_line):
    desk = login("front_desk")
    first = desk.get(INTAKE).content.decode()
    assert "Main Street Clinic" in first and "Westside Clinic" in first
    assert "Physical therapy" in first
    other_location.name = "Eastside Clinic"
    other_location.save()
    service_line.is_active = False
    service_line.save()
    again = desk.get(INTAKE).content.decode()
    assert "Eastside Clinic" in again and "Westside Clinic" not in again
    assert "Physical therapy" not in again
    users["front_desk"].default_location = other_location
    users["front_desk"].save()
    mine = desk.get(INTAKE).content.decode()
    assert f'<option value="{other_location.pk}" selected>' in mine
    # The reason box (clinical): every role that records referrals may see it.
    assert "Reason for referral" in mine
    assert "Reason for referral" in login("coordinator").get(INTAKE).content.decode()


def _without_token(body: bytes) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1",
                  body.decode())


def test_the_blank_form_from_the_cache_is_the_page_rendered_in_full(
        login, location, other_location, service_line, make_patient):
    from django.core.cache import cache

    referral_record(patient=make_patient("Cy", "Twombly"), source_unknown=True,
                    source_text="the gym", location=location, by=None)
    for role in ("front_desk", "manager"):
        client = login(role)
        client.get(INTAKE)  # the first request of a session records its last-seen time
        cache.clear()
        with CaptureQueriesContext(connection) as first_queries:
            first = client.get(INTAKE)  # renders the fields and keeps them
        with CaptureQueriesContext(connection) as again_queries:
            again = client.get(INTAKE)  # builds no form: the fields come from the cache
        assert _without_token(again.content) == _without_token(first.content)
        assert len(again_queries) == len(first_queries)
        body = again.content.decode()
        assert "Twombly" in body and "the gym" in body
        assert f'<option value="{location.pk}" selected>' in body
        assert 'id="id_service_line"' in body and "— not yet known —" in body


def test_each_patient_on_the_ask_again_list_is_audited_as_shown(desk, make_patient, location,
                                                                users):
    shown = [make_patient("Ask", f"Again{n}") for n in range(3)]
    for patient in shown:
        referral_record(patient=patient, source_unknown=True, location=location, by=None)
    before = set(AuditEvent.objects.values_list("id", flat=True))
    body = desk.get(INTAKE).content.decode()
    rows = AuditEvent.objects.exclude(id__in=before).filter(what="intake:ask-again")
    assert sorted(rows.values_list("patient_id", flat=True)) == sorted(p.pk for p in shown)
    assert {r.username for r in rows} == {users["front_desk"].username}
    assert {r.action for r in rows} == {AuditAction.QUERY}
    # oldest first, each linking to its referral
    positions = [body.index(f"Ask Again{n}") for n in range(3)]
    assert positions == sorted(positions)
    for patient in shown:
        referral = Referral.objects.get(patient=patient)
        assert f'<a href="/referrals/{referral.pk}/">Ask {patient.last_name}</a>' in body


def test_a_save_from_the_desk_is_a_fixed_number_of_queries(desk, location, make_patient,
                                                           make_partner):
    partner = make_partner("Parker Family Practice")
    data = {"patient_mode": "existing", "source_mode": "existing",
            "source_partner": partner.pk, "location": location.pk, "channel": "front_desk"}
    counts = []
    for n in range(2):
        patient = make_patient("Grace", f"Hopper{n}")
        with CaptureQueriesContext(connection) as queries:
            response = desk.post(INTAKE, {**data, "patient": patient.pk})
        assert response.status_code == 302
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # session, user, the patient, partner and location the form names; the service's
    # savepoint and its release; the referral, its history row and event; the rules
    # (rule table, the partner's overrides, the locations and the users who may see
    # patients (a clinician's thank-you names the patient), whether the follow-up exists,
    # the follow-up); the audit row (head, INSERT, head UPDATE); SQLite: BEGIN and COMMIT
    assert counts[0] <= 21
