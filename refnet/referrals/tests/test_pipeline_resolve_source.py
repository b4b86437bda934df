"""Answering "Who referred this patient?" on a referral whose source was unknown."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from refnet.referrals.selectors import referrals_unresolved_source
from refnet.referrals.services import referral_record


@pytest.fixture
def unresolved(location, make_patient):
    return referral_record(patient=make_patient(), source_unknown=True,
                           source_text="a doctor named Smith?", location=location, by=None)


@pytest.fixture
def smith(make_partner, make_contact):
    partner = make_partner("John Smith, MD")
    make_contact(partner, "Janet Okafor")
    return partner


def detail_url(referral, **params) -> str:
    url = reverse("referrals:detail", args=[referral.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_box_shows_the_patients_words_and_a_search(login, unresolved):
    html = login("front_desk").get(detail_url(unresolved)).content.decode()

    assert "Who referred this patient?" in html
    assert "a doctor named Smith?" in html
    assert 'name="q"' in html


def test_box_is_not_shown_when_the_source_is_known(login, make_referral):
    html = login("coordinator").get(detail_url(make_referral())).content.decode()

    assert "Who referred this patient?" not in html


def test_search_lists_matches_as_radio_buttons(login, unresolved, smith, make_partner):
    make_partner("Peak Fitness", kind="local_business")

    html = login("front_desk").get(detail_url(unresolved, q="dr smith")).content.decode()

    assert f'type="radio" name="source" value="{smith.pk}"' in html
    assert "John Smith, MD" in html
    assert "Peak Fitness" not in html


def test_search_by_a_contacts_name_offers_that_contact(login, unresolved, smith):
    contact = smith.contacts.get()

    html = login("coordinator").get(detail_url(unresolved, q="okafor")).content.decode()

    assert f'value="{smith.pk}-{contact.pk}"' in html
    assert "Janet Okafor" in html


def test_search_with_no_match_says_so(login, unresolved, smith):
    html = login("coordinator").get(detail_url(unresolved, q="Zyxwvut")).content.decode()

    assert "No source matches “Zyxwvut”" in html


@pytest.mark.parametrize("role", ["front_desk", "coordinator"])
def test_choosing_a_match_records_the_source(login, unresolved, smith, role, users):
    client = login(role)

    response = client.post(reverse("referrals:resolve_source", args=[unresolved.pk]),
                           {"source": smith.pk, "q": "smith"})

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Source recorded: John Smith, MD."]
    unresolved.refresh_from_db()
    assert (unresolved.source_partner, unresolved.source_status) == (smith, "known")
    assert unresolved not in referrals_unresolved_source()
    event = unresolved.events.last()
    assert (event.by, event.note) == (users[role], "Source recorded: John Smith, MD")
    html = client.get(detail_url(unresolved)).content.decode()
    assert "Who referred this patient?" not in html
    assert "Unresolved" not in html


def test_choosing_a_contact_records_it_too(login, unresolved, smith):
    contact = smith.contacts.get()

    login("coordinator").post(reverse("referrals:resolve_source", args=[unresolved.pk]),
                              {"source": f"{smith.pk}-{contact.pk}"})

    unresolved.refresh_from_db()
    assert (unresolved.source_partner, unresolved.source_contact) == (smith, contact)


def test_posting_without_a_choice_changes_nothing(login, unresolved):
    response = login("coordinator").post(
        reverse("referrals:resolve_source", args=[unresolved.pk]), {"q": "smith"})

    assert response["Location"] == detail_url(unresolved, q="smith") + "#source"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Choose who referred this patient."]
    unresolved.refresh_from_db()
    assert unresolved.source_status == "unresolved"
    assert unresolved in referrals_unresolved_source()


def test_a_source_that_no_longer_exists_is_refused(login, unresolved):
    login("coordinator").post(reverse("referrals:resolve_source", args=[unresolved.pk]),
                              {"source": "999999"})

    unresolved.refresh_from_db()
    assert unresolved.source_status == "unresolved"


def test_a_contact_from_another_source_is_refused(login, unresolved, smith, make_partner,
                                                  make_contact):
    stranger = make_contact(make_partner("Peak Fitness", kind="local_business"), "Sam Lee")

    response = login("coordinator").post(
        reverse("referrals:resolve_source", args=[unresolved.pk]),
        {"source": f"{smith.pk}-{stranger.pk}"})

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "That contact does not work at the chosen source."]
    unresolved.refresh_from_db()
    assert unresolved.source_status == "unresolved"


def test_a_source_already_recorded_is_not_overwritten(login, unresolved, smith, make_partner):
    gym = make_partner("Peak Fitness", kind="local_business")
    url = reverse("referrals:resolve_source", args=[unresolved.pk])
    login("front_desk").post(url, {"source": smith.pk})

    response = login("coordinator").post(url, {"source": gym.pk})

    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
        "Nothing changed: the source was already recorded as John Smith, MD.")
    unresolved.refresh_from_db()
    assert unresolved.source_partner == smith
