"""Merging a duplicate into a partner: find it, confirm, merge, and what users see after."""

import pytest
from django.urls import reverse

from refnet.partners.models import Contact, Partner, PartnerMerge
from refnet.partners.search import partners_search
from refnet.partners.services import partner_merge
from refnet.referrals.models import Referral


@pytest.fixture
def pair(make_partner, make_contact, make_referral):
    survivor = make_partner("John Smith, MD", city="Springfield")
    duplicate = make_partner("Jon Smyth", city="Chatham")
    make_referral(source_partner=survivor)
    for _ in range(3):
        make_referral(source_partner=duplicate)
    make_contact(duplicate, name="Janet Okafor")
    make_contact(duplicate, name="Luis Ortega")
    return survivor, duplicate


def merge_url(survivor) -> str:
    return reverse("partners:merge", args=[survivor.pk])


def confirm_url(survivor, duplicate) -> str:
    return reverse("partners:merge_confirm", args=[survivor.pk, duplicate.pk])


def test_search_lists_candidates_by_typo_without_the_survivor(login, pair, make_partner):
    survivor, duplicate = pair
    merged_earlier = make_partner("John Smithe")
    partner_merge(survivor=make_partner("Jonathan Smith"), duplicate=merged_earlier, by=None)

    html = login("manager").get(merge_url(survivor), {"q": "john smith"}).content.decode()

    assert f'name="duplicate" id="dup-{duplicate.pk}" value="{duplicate.pk}"' in html
    assert f'value="{survivor.pk}"' not in html
    assert f'value="{merged_earlier.pk}"' not in html


def test_choosing_a_candidate_opens_the_confirm_step(login, pair):
    survivor, duplicate = pair

    response = login("manager").get(merge_url(survivor),
                                    {"q": "jon", "duplicate": duplicate.pk})

    assert response.status_code == 302
    assert response.url == confirm_url(survivor, duplicate)


def test_confirm_shows_both_partners_and_what_will_move(login, pair):
    survivor, duplicate = pair

    response = login("manager").get(confirm_url(survivor, duplicate))

    html = response.content.decode()
    assert "Springfield" in html and "Chatham" in html
    assert "<strong>3 referrals</strong> and <strong>2 contacts</strong> move" in html
    assert response.context["survivor_counts"].referrals == 1
    # Nothing has happened yet.
    assert Referral.objects.filter(source_partner=duplicate).count() == 3


def test_merge_moves_everything_and_leads_back_to_the_survivor(login, pair, users):
    survivor, duplicate = pair
    client = login("manager")

    response = client.post(confirm_url(survivor, duplicate))

    assert response.status_code == 302
    assert response.url == reverse("partners:detail", args=[survivor.pk])
    assert Referral.objects.filter(source_partner=survivor).count() == 4
    assert set(Contact.objects.filter(partner=survivor).values_list("name", flat=True)) == {
        "Janet Okafor", "Luis Ortega"}
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor
    merge = PartnerMerge.objects.get()
    assert (merge.survivor, merge.merged, merge.merged_name, merge.by) == (
        survivor, duplicate, "Jon Smyth", users["manager"])
    assert (merge.referrals_moved, merge.contacts_moved) == (3, 2)
    page = client.get(response.url).content.decode()
    assert "Merged “Jon Smyth” into “John Smith, MD”: 3 referrals and 2 contacts moved." in page
    assert "Jon Smyth" in page  # also known as, and the merge history


def test_after_a_merge_the_old_name_finds_the_survivor_and_its_url_redirects(login, pair):
    survivor, duplicate = pair
    client = login("manager")
    client.post(confirm_url(survivor, duplicate))

    assert [m.partner_id for m in partners_search("Jon Smyth")] == [survivor.pk]
    old_page = client.get(reverse("partners:detail", args=[duplicate.pk]), follow=True)
    assert old_page.redirect_chain == [(reverse("partners:detail", args=[survivor.pk]), 302)]
    assert "“Jon Smyth” was merged into “John Smith, MD”." in old_page.content.decode()


def test_an_already_merged_duplicate_is_refused_with_a_message(login, pair, make_partner):
    survivor, duplicate = pair
    elsewhere = make_partner("Jonathan Smith")
    partner_merge(survivor=elsewhere, duplicate=duplicate, by=None)
    client = login("manager")

    response = client.post(confirm_url(survivor, duplicate), follow=True)

    assert response.redirect_chain[-1][0] == merge_url(survivor)
    assert "“Jon Smyth” was already merged into “Jonathan Smith”." in response.content.decode()
    assert Referral.objects.filter(source_partner=survivor).count() == 1
    assert PartnerMerge.objects.count() == 1


def test_merging_a_partner_into_itself_is_refused(login, pair):
    survivor, _ = pair

    response = login("manager").post(confirm_url(survivor, survivor), follow=True)

    assert "cannot be merged into itself" in response.content.decode()
    assert not PartnerMerge.objects.exists()
    assert Partner.objects.get(pk=survivor.pk).merged_into is None


def test_merge_pages_of_a_merged_survivor_lead_to_its_survivor(login, pair, make_partner):
    survivor, duplicate = pair
    final = make_partner("Jonathan Smith")
    partner_merge(survivor=final, duplicate=survivor, by=None)

    response = login("manager").post(confirm_url(survivor, duplicate))

    assert response.url == reverse("partners:detail", args=[final.pk])
    assert Referral.objects.filter(source_partner=duplicate).count() == 3
