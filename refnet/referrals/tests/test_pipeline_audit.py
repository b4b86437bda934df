"""Every pipeline page that shows a patient leaves audit rows: who, which patient, what
action, which data, from where."""

import pytest
from django.urls import reverse

from refnet.accounts.models import AuditEvent
from refnet.referrals.services import referral_record

ADDRESS = "10.1.2.3"


@pytest.fixture
def as_coordinator(login):
    client = login("coordinator")
    client.defaults["REMOTE_ADDR"] = ADDRESS
    return client


def rows() -> list[tuple]:
    return list(AuditEvent.objects.order_by("id").values_list(
        "username", "patient_id", "action", "what", "address"))


def test_list_writes_one_query_row_per_patient_shown(as_coordinator, make_referral,
                                                     make_patient):
    ann, bea = make_patient("Ann", "One"), make_patient("Bea", "Two")
    make_referral(patient=ann)
    make_referral(patient=ann)
    make_referral(patient=bea)

    as_coordinator.get(reverse("referrals:list"))

    assert sorted(rows()) == [
        ("cora", ann.pk, "query", "referrals:list", ADDRESS),
        ("cora", bea.pk, "query", "referrals:list", ADDRESS),
    ]
    assert AuditEvent.objects.first().path == reverse("referrals:list")


def test_list_that_shows_nobody_is_still_recorded(as_coordinator, db):
    as_coordinator.get(reverse("referrals:list"), {"status": "seen"})

    assert rows() == [("cora", None, "query", "referrals:list", ADDRESS)]
    assert AuditEvent.objects.get().path == reverse("referrals:list") + "?status=seen"


def test_board_writes_a_query_row_per_patient_on_a_card(as_coordinator, make_referral,
                                                        make_patient):
    ann, bea = make_patient("Ann", "One"), make_patient("Bea", "Two")
    make_referral(patient=ann)
    make_referral(patient=bea)

    as_coordinator.get(reverse("referrals:board"))

    assert sorted(rows()) == [
        ("cora", ann.pk, "query", "referrals:board", ADDRESS),
        ("cora", bea.pk, "query", "referrals:board", ADDRESS),
    ]


def test_detail_writes_a_view_row(as_coordinator, make_referral):
    referral = make_referral()

    as_coordinator.get(reverse("referrals:detail", args=[referral.pk]))

    assert rows() == [("cora", referral.patient_id, "view", f"referral:{referral.pk}", ADDRESS)]


def test_patient_page_writes_a_view_row(as_coordinator, make_referral):
    referral = make_referral()

    as_coordinator.get(reverse("referrals:patient_detail", args=[referral.patient_id]))

    assert rows() == [("cora", referral.patient_id, "view", f"patient:{referral.patient_id}",
                       ADDRESS)]


def test_a_move_writes_an_update_row_and_a_refused_one_does_not(as_coordinator, make_referral):
    referral = make_referral()
    url = reverse("referrals:transition", args=[referral.pk])

    as_coordinator.post(url, {"to_status": "seen", "from_status": "received"})
    assert rows() == []
    as_coordinator.post(url, {"to_status": "contacted", "from_status": "received"})

    assert rows() == [("cora", referral.patient_id, "update", f"referral:{referral.pk}:status",
                       ADDRESS)]


def test_resolving_a_source_writes_an_update_row(as_coordinator, location, make_patient,
                                                 make_partner):
    referral = referral_record(patient=make_patient(), source_unknown=True, location=location,
                               by=None)

    as_coordinator.post(reverse("referrals:resolve_source", args=[referral.pk]),
                        {"source": make_partner().pk})

    assert rows() == [("cora", referral.patient_id, "update", f"referral:{referral.pk}:source",
                       ADDRESS)]


def test_a_refused_visitor_leaves_no_patient_rows(login, make_referral):
    referral = make_referral()

    login("outreach").get(reverse("referrals:detail", args=[referral.pk]))

    assert rows() == []
