"""Recording visits from the referral page: the list, the form, and what it refuses."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.referrals.models import ReferralStatus, Visit
from refnet.referrals.services import referral_transition

NY = ZoneInfo("America/New_York")
pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(make_referral, make_patient, users):
    referral = make_referral(patient=make_patient("Ada", "Lovelace"))
    for status in (ReferralStatus.SCHEDULED, ReferralStatus.SEEN):
        referral_transition(referral=referral, to_status=status, by=users["coordinator"])
    return referral


def url(referral):
    return reverse("referrals:visit_add", args=[referral.pk])


def test_record_a_visit_and_see_it_on_the_page(login, seen):
    client = login("coordinator")
    with time_machine.travel(datetime(2026, 6, 10, 15, 0, tzinfo=NY), tick=False):
        response = client.post(url(seen), {"day": "2026-06-08", "kind": "evaluation",
                                           "note": "Initial evaluation"}, follow=True)
    html = response.content.decode()
    assert "Recorded: Evaluation on 06/08/2026." in html
    visit = Visit.objects.get(referral=seen)
    assert (visit.kind, visit.note) == ("evaluation", "Initial evaluation")
    assert visit.at == datetime(2026, 6, 8, 12, 0, tzinfo=NY)
    assert "Initial evaluation" in html and 'id="visits"' in html
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, patient_id=seen.patient_id,
                                     what=f"referral:{seen.pk}:visit").exists()


def test_a_visit_today_is_placed_now(login, seen):
    with time_machine.travel(datetime(2026, 6, 10, 9, 30, tzinfo=NY), tick=False):
        login("coordinator").post(url(seen), {"day": "2026-06-10", "kind": "treatment"})
    assert Visit.objects.get().at == datetime(2026, 6, 10, 9, 30, tzinfo=NY)


@pytest.mark.parametrize("data,error", [
    ({"day": "", "kind": "treatment"}, "Date: Enter the visit date."),
    ({"day": "2999-01-01", "kind": "treatment"}, "Date: The visit date cannot be in the future."),
    ({"day": "2026-01-01", "kind": "surgery"}, "Kind: Select a valid choice."),
])
def test_bad_input_names_the_field(login, seen, data, error):
    response = login("coordinator").post(url(seen), data, follow=True)
    assert error in response.content.decode()
    assert not Visit.objects.exists()


def test_before_the_patient_was_seen_it_is_refused(login, make_referral):
    referral = make_referral()
    client = login("coordinator")
    html = client.get(reverse("referrals:detail", args=[referral.pk])).content.decode()
    assert "Visits can be recorded once the patient was seen." in html
    response = client.post(url(referral), {"day": "2026-01-01", "kind": "treatment"},
                           follow=True)
    assert "Visit not recorded: Visits are recorded once the patient was seen" in (
        response.content.decode())


def test_front_desk_sees_visits_but_cannot_record(login, seen, users):
    Visit.objects.create(referral=seen, at=seen.received_at, kind="evaluation", note="First")
    client = login("front_desk")
    html = client.get(reverse("referrals:detail", args=[seen.pk])).content.decode()
    assert "First" in html and url(seen) not in html
    assert client.post(url(seen), {"day": "2026-01-01", "kind": "treatment"}
                       ).status_code == 403
