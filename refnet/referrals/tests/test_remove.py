"""Removing a referral entered by mistake is rare and recorded: managers and admins remove
it with a reason, nothing is deleted, it leaves the lists, the board, the inbox and the
reports, shows under Removed referrals with who/when/why, its own page still opens
(marked removed) for them, and it can be restored."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from refnet.accounts.models import AuditEvent
from refnet.followups.models import FollowUp, FollowUpStatus
from refnet.referrals.models import Referral
from refnet.referrals.selectors import referrals_board, referrals_list, referrals_removed
from refnet.referrals.services import (
    referral_remove,
    referral_restore,
    referral_transition,
    visit_record,
)

pytestmark = pytest.mark.django_db


def test_remove_records_who_when_why_and_restore_brings_it_back(make_referral, users):
    referral = make_referral()
    removal = referral_remove(referral=referral, by=users["manager"],
                              reason="  Duplicate of   #12 ")
    assert (removal.removed_by, removal.reason) == (users["manager"], "Duplicate of #12")
    assert not Referral.objects.filter(pk=referral.pk).exists()  # out of every ordinary read
    removed = Referral.all_objects.get(pk=referral.pk)
    assert removed.removed_at == removal.removed_at
    assert removed.history.first().history_change_reason == "removed: Duplicate of #12"
    assert removed.history.first().history_user == users["manager"]
    assert removed.events.last().note == "Removed: Duplicate of #12"
    assert [r.referral_id for r in referrals_removed()] == [referral.pk]

    referral_restore(referral=removed, by=users["admin"])
    assert Referral.objects.get(pk=referral.pk).removed_at is None
    removal.refresh_from_db()
    assert removal.restored_by == users["admin"]  # the removal stays on the record
    assert referrals_removed() == []
    assert Referral.all_objects.get(pk=referral.pk).history.first().history_change_reason == (
        "restored")


def test_a_removal_needs_a_reason_and_happens_once(make_referral, users):
    referral = make_referral()
    with pytest.raises(ValidationError, match="Say why"):
        referral_remove(referral=referral, by=users["manager"], reason=" \n ")
    assert Referral.objects.filter(pk=referral.pk).exists()
    referral_remove(referral=referral, by=users["manager"], reason="Test entry")
    with pytest.raises(ValidationError, match="already removed"):
        referral_remove(referral=referral, by=users["manager"], reason="Again")
    referral_restore(referral=referral, by=users["manager"])
    with pytest.raises(ValidationError, match="not removed"):
        referral_restore(referral=referral, by=users["manager"])


def test_nothing_moves_on_a_removed_referral(make_referral, users):
    referral = make_referral()
    referral_remove(referral=referral, by=users["manager"], reason="Wrong patient")
    with pytest.raises(ValidationError, match="was removed"):
        referral_transition(referral=referral, to_status="contacted", by=users["coordinator"])
    with pytest.raises(ValidationError, match="was removed"):
        visit_record(referral=referral, at=referral.received_at, kind="evaluation", by=None)
    assert Referral.all_objects.get(pk=referral.pk).status == "received"


def test_open_followups_are_skipped_with_the_reason(make_referral, make_partner, users):
    referral = make_referral(source_partner=make_partner("Dr. Thank Me"))
    thank = FollowUp.objects.get(key=f"thank:r{referral.pk}")
    assert thank.status == FollowUpStatus.OPEN
    removal = referral_remove(referral=referral, by=users["manager"], reason="Duplicate")
    thank.refresh_from_db()
    assert thank.status == FollowUpStatus.SKIPPED
    assert thank.skip_reason == "referral removed: Duplicate"
    assert removal.followups_skipped == 1
    # A restore does not plan them again: the thank-you stays skipped.
    referral_restore(referral=referral, by=users["manager"])
    assert list(FollowUp.objects.filter(referral=referral).values_list("status", flat=True)) \
        == [FollowUpStatus.SKIPPED]


def test_removed_referrals_leave_the_list_and_the_board(make_referral, users):
    kept, gone = make_referral(), make_referral()
    referral_remove(referral=gone, by=users["manager"], reason="Duplicate")
    assert list(referrals_list()) == [kept]
    cards = [card.pk for column in referrals_board() for card in column.cards]
    assert cards == [kept.pk]
    assert {c.status: c.count for c in referrals_board()}["received"] == 1


def test_managers_remove_see_and_restore_in_the_app(login, make_referral, make_patient,
                                                    users):
    referral = make_referral(patient=make_patient(last_name="Mistaken"))
    client = login("manager")
    response = client.post(reverse("referrals:remove", args=[referral.pk]),
                           {"reason": "Entered twice"})
    assert response.status_code == 302
    assert b"Mistaken" not in client.get(reverse("referrals:list")).content
    assert b"Mistaken" not in client.get(reverse("referrals:board")).content
    page = client.get(reverse("referrals:removed")).content.decode()
    assert "Mistaken" in page and "Entered twice" in page and str(users["manager"]) in page
    detail = client.get(reverse("referrals:detail", args=[referral.pk])).content.decode()
    assert "Removed</span>" in detail and "Entered twice" in detail
    assert "Restore this referral" in detail and "Move this referral" not in detail
    # Patient data shown and changed: on the audit trail.
    whats = set(AuditEvent.objects.filter(patient_id=referral.patient_id)
                .values_list("what", flat=True))
    assert {f"referral:{referral.pk}:remove", "referrals:removed",
            f"referral:{referral.pk}"} <= whats
    client.post(reverse("referrals:restore", args=[referral.pk]))
    assert b"Mistaken" in client.get(reverse("referrals:list")).content
    assert f"referral:{referral.pk}:restore" in set(
        AuditEvent.objects.values_list("what", flat=True))


def test_a_removal_without_a_reason_changes_nothing(login, make_referral):
    referral = make_referral()
    client = login("manager")
    response = client.post(reverse("referrals:remove", args=[referral.pk]), {"reason": ""},
                           follow=True)
    assert "Say why" in response.content.decode()
    assert Referral.objects.filter(pk=referral.pk).exists()


@pytest.mark.parametrize("role", ["front_desk", "coordinator"])
def test_coordinators_and_front_desk_can_neither_remove_nor_see_removed(
        login, make_referral, users, role):
    referral, removed = make_referral(), make_referral()
    referral_remove(referral=removed, by=users["manager"], reason="Test entry")
    client = login(role)
    assert client.post(reverse("referrals:remove", args=[referral.pk]),
                       {"reason": "x"}).status_code == 403
    assert client.post(reverse("referrals:restore", args=[removed.pk])).status_code == 403
    assert client.get(reverse("referrals:removed")).status_code == 403
    assert client.get(reverse("referrals:detail", args=[removed.pk])).status_code == 404
    assert Referral.objects.filter(pk=referral.pk).exists()
    detail = client.get(reverse("referrals:detail", args=[referral.pk])).content.decode()
    assert "Remove this referral" not in detail


def test_the_remove_form_is_on_the_page_for_managers(login, make_referral):
    referral = make_referral()
    detail = login("manager").get(reverse("referrals:detail", args=[referral.pk]))
    assert "Remove this referral" in detail.content.decode()
