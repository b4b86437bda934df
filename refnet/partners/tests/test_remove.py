"""Removing a partner is rare and recorded: nothing is deleted, the partner leaves the
directory, search and the rules, shows under "Removed and merged" for managers and admins
with who/when/why, and can be restored; reports keep counting its referrals."""

import pytest
from django.urls import reverse

from refnet.partners.models import Partner
from refnet.partners.selectors import partners_directory, partners_search
from refnet.partners.services import RemoveError, partner_remove, partner_restore


@pytest.mark.django_db
def test_remove_hides_and_restore_brings_back(make_partner, make_referral, users):
    partner = make_partner("Zebra Physio Referrers")
    make_referral(source_partner=partner)
    partner_remove(partner=partner, by=users["manager"], reason="Closed their practice")
    partner.refresh_from_db()
    [removal] = partner.removals.all()
    assert (removal.removed_by, removal.reason) == (users["manager"], "Closed their practice")
    assert partner not in partners_directory()
    assert [m.partner_id for m in partners_search("Zebra Physio")] == []
    assert partner.referrals.count() == 1  # its referrals are untouched
    assert partner.history.first().history_change_reason == "removed: Closed their practice"
    partner_restore(partner=partner, by=users["admin"])
    partner.refresh_from_db()
    assert partner.removed_at is None and partner in partners_directory()
    removal.refresh_from_db()
    assert removal.restored_by == users["admin"]  # the removal stays on the record
    assert [m.partner_id for m in partners_search("Zebra Physio")] == [partner.pk]


@pytest.mark.django_db
def test_a_removal_needs_a_reason(make_partner, users):
    partner = make_partner()
    with pytest.raises(RemoveError, match="why"):
        partner_remove(partner=partner, by=users["manager"], reason="  ")
    assert Partner.objects.get(pk=partner.pk).removed_at is None


@pytest.mark.django_db
def test_managers_remove_see_and_restore_in_the_app(login, make_partner):
    partner = make_partner("Gone Clinic")
    client = login("manager")
    client.post(reverse("partners:remove", args=[partner.pk]), {"reason": "Duplicate entry"})
    page = client.get(reverse("partners:gone"))
    assert b"Gone Clinic" in page.content and b"Removed: Duplicate entry" in page.content
    detail = client.get(reverse("partners:detail", args=[partner.pk]))
    assert b"Restore this partner" in detail.content
    assert b"Gone Clinic" not in client.get(reverse("partners:list")).content
    client.post(reverse("partners:restore", args=[partner.pk]))
    assert b"Gone Clinic" in client.get(reverse("partners:list")).content


@pytest.mark.django_db
def test_merged_partners_are_listed_with_where_they_went(login, make_partner, users):
    from refnet.partners.services import partner_merge

    survivor, duplicate = make_partner("Dr. Ann Lee"), make_partner("Ann Lee MD")
    partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])
    page = login("admin").get(reverse("partners:gone"))
    assert b"Ann Lee MD" in page.content and b"Merged into" in page.content


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["front_desk", "coordinator", "outreach"])
def test_other_roles_cannot_remove(login, make_partner, role):
    partner = make_partner()
    client = login(role)
    assert client.post(reverse("partners:remove", args=[partner.pk]),
                       {"reason": "x"}).status_code == 403
    assert client.get(reverse("partners:gone")).status_code == 403
    assert Partner.objects.get(pk=partner.pk).removed_at is None
