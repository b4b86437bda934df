"""Who may open the pipeline pages and who may move referrals."""

import pytest
from django.urls import reverse

from refnet.referrals.models import ReferralEvent


@pytest.fixture
def pages(make_referral):
    referral = make_referral()
    return {
        "list": reverse("referrals:list"),
        "board": reverse("referrals:board"),
        "detail": reverse("referrals:detail", args=[referral.pk]),
        "patient": reverse("referrals:patient_detail", args=[referral.patient_id]),
    }


@pytest.mark.parametrize("page", ["list", "board", "detail", "patient"])
def test_outreach_cannot_open_patient_pages(login, pages, page):
    assert login("outreach").get(pages[page]).status_code == 403


@pytest.mark.parametrize("page", ["list", "board", "detail", "patient"])
def test_anonymous_is_sent_to_log_in(client, pages, page):
    response = client.get(pages[page])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["front_desk", "coordinator", "manager", "admin"])
def test_referral_roles_can_open_every_page(login, pages, role):
    client = login(role)
    for url in pages.values():
        assert client.get(url).status_code == 200, url


def test_front_desk_sees_no_moves_and_cannot_post_one(login, make_referral):
    referral = make_referral()
    client = login("front_desk")

    html = client.get(reverse("referrals:detail", args=[referral.pk])).content.decode()
    response = client.post(reverse("referrals:transition", args=[referral.pk]),
                           {"to_status": "contacted", "from_status": "received"})

    assert 'name="to_status"' not in html
    assert "Move this referral" not in html
    assert response.status_code == 403
    referral.refresh_from_db()
    assert referral.status == "received"
    assert ReferralEvent.objects.filter(referral=referral).count() == 1


def test_outreach_cannot_resolve_a_source(login, make_referral, make_partner):
    referral = make_referral()

    response = login("outreach").post(reverse("referrals:resolve_source", args=[referral.pk]),
                                      {"source": make_partner("Other, MD").pk})

    assert response.status_code == 403


def test_transition_refuses_get(login, make_referral):
    referral = make_referral()

    response = login("coordinator").get(reverse("referrals:transition", args=[referral.pk]))

    assert response.status_code == 405


def test_unknown_patient_is_404(login, db):
    response = login("coordinator").get(reverse("referrals:patient_detail", args=[999999]))

    assert response.status_code == 404
