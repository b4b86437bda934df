"""Who may open which partner screen: 403 for a role without the capability, and no change."""

import pytest
from django.urls import reverse

from refnet.partners.models import Contact, Partner, PartnerMerge


@pytest.fixture
def pair(make_partner):
    return make_partner("John Smith, MD"), make_partner("Jon Smyth")


@pytest.mark.parametrize("role", ["front_desk"])
def test_create_edit_and_contact_add_need_partners_edit(login, pair, role):
    partner, _ = pair
    client = login(role)

    assert client.get(reverse("partners:create")).status_code == 403
    assert client.post(reverse("partners:create"),
                       {"name": "Sneaky", "kind": "clinician"}).status_code == 403
    assert client.get(reverse("partners:edit", args=[partner.pk])).status_code == 403
    assert client.post(reverse("partners:edit", args=[partner.pk]),
                       {"name": "Renamed", "kind": "clinician"}).status_code == 403
    assert client.post(reverse("partners:contact_add", args=[partner.pk]),
                       {"name": "Sneaky Contact"}).status_code == 403
    assert list(Partner.objects.values_list("name", flat=True).order_by("name")) == [
        "John Smith, MD", "Jon Smyth"]
    assert not Contact.objects.exists()


@pytest.mark.parametrize("role", ["front_desk", "coordinator"])
def test_merge_needs_partners_merge(login, pair, role):
    survivor, duplicate = pair
    client = login(role)

    assert client.get(reverse("partners:merge", args=[survivor.pk]),
                      {"q": "jon"}).status_code == 403
    confirm = reverse("partners:merge_confirm", args=[survivor.pk, duplicate.pk])
    assert client.get(confirm).status_code == 403
    assert client.post(confirm).status_code == 403
    assert not PartnerMerge.objects.exists()
    assert Partner.objects.live().count() == 2


@pytest.mark.parametrize("role", ["front_desk", "coordinator", "outreach", "manager", "admin"])
def test_every_role_may_browse_the_directory(login, pair, role):
    partner, _ = pair
    client = login(role)

    assert client.get(reverse("partners:list")).status_code == 200
    assert client.get(reverse("partners:detail", args=[partner.pk])).status_code == 200


def test_anonymous_users_are_sent_to_log_in(client, pair):
    partner, _ = pair

    response = client.get(reverse("partners:detail", args=[partner.pk]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
