"""The inbox page and its actions: my inbox vs everyone's, 404 on someone else's
follow-up, outreach never sees patient names, htmx fragment vs full page."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def make_followup(db):
    counter = iter(range(1, 10_000))

    def make(assignee, days_from_today=0, kind=RuleKind.CHECK_IN, **fields):
        due = timezone.now() + timedelta(days=days_from_today)
        n = next(counter)
        return FollowUp.objects.create(
            key=f"test:{n}", kind=kind, assignee=assignee, due_at=due, original_due_at=due,
            summary=fields.pop("summary", f"Task {n}"), **fields)

    return make


@pytest.fixture
def thank_you(users, make_referral, make_patient, make_partner, make_followup):
    """Cora's overdue thank-you for Ada Lovelace's referral from Dr. Smith."""
    referral = make_referral(patient=make_patient("Ada", "Lovelace"),
                             source_partner=make_partner("John Smith, MD"))
    return make_followup(users["coordinator"], -2, kind=RuleKind.THANK_REFERRER,
                         partner=referral.source_partner, referral=referral,
                         summary="Thank Dr. Smith for the referral")


def test_my_inbox_groups_and_counts(login, users, make_followup, thank_you):
    cora = users["coordinator"]
    make_followup(cora, 0, summary="Call the gym back")
    make_followup(cora, 3, summary="Lunch with Riverside")
    make_followup(users["manager"], -1, summary="Mona own task")
    html = login("coordinator").get(reverse("followups:inbox")).content.decode()
    overdue = html.index("Thank Dr. Smith")
    assert overdue < html.index("Call the gym back") < html.index("Lunch with Riverside")
    assert "2 days overdue" in html
    assert "Mona own task" not in html
    assert 'id="inbox-count-overdue" class="inbox-count">1<' in html
    assert 'id="inbox-count-today" class="inbox-count">1<' in html
    assert 'id="nav-inbox-count"' in html and "2 overdue or due today" in html
    assert "Everyone" not in html  # a coordinator has no FOLLOWUPS_ALL


def test_coordinator_sees_the_patient_and_it_is_audited(login, thank_you):
    html = login("coordinator").get(reverse("followups:inbox")).content.decode()
    assert "Ada Lovelace" in html
    assert AuditEvent.objects.filter(patient_id=thank_you.referral.patient_id,
                                     action=AuditAction.VIEW, what="followups:inbox").exists()


def test_outreach_sees_the_partner_work_but_never_the_patient(login, users, thank_you):
    thank_you.assignee = users["outreach"]
    thank_you.save()
    html = login("outreach").get(reverse("followups:inbox")).content.decode()
    assert "Thank Dr. Smith" in html and "John Smith, MD" in html
    assert "Lovelace" not in html
    assert reverse("referrals:detail", args=[thank_you.referral_id]) not in html
    # Done in the recent list too.
    client = login("outreach")
    client.post(reverse("followups:done", args=[thank_you.pk]), {"how": "called"})
    html = client.get(reverse("followups:inbox")).content.decode()
    assert "Thank Dr. Smith" in html and "Lovelace" not in html
    assert not AuditEvent.objects.filter(username="otto").exists()


def test_manager_switches_to_everyone_by_owner(login, users, make_followup):
    make_followup(users["coordinator"], -1, summary="Cora late one")
    make_followup(users["outreach"], -3, summary="Otto late one")
    make_followup(users["outreach"], -2, summary="Otto other late one")
    make_followup(None, 0, summary="Nobody today")
    client = login("manager")
    mine = client.get(reverse("followups:inbox")).content.decode()
    assert "Cora late one" not in mine and "Everyone" in mine
    html = client.get(reverse("followups:inbox"), {"who": "all"}).content.decode()
    assert "Everyone's follow-ups" in html
    assert html.index("Unassigned") < html.index("Otto") < html.index("Cora")
    assert 'Otto <span class="small muted">· 2 overdue, 0 due today' in html
    for text in ("Cora late one", "Otto late one", "Nobody today"):
        assert text in html
    # One owner's inbox, from the summary.
    one = client.get(reverse("followups:inbox"), {"who": users["outreach"].pk}).content.decode()
    assert "Otto's follow-ups" in one and "Otto late one" in one and "Cora late" not in one


def test_a_coordinator_asking_for_everyone_gets_their_own(login, users, make_followup):
    make_followup(users["manager"], -1, summary="Mona task")
    html = login("coordinator").get(reverse("followups:inbox"), {"who": "all"}).content.decode()
    assert "My follow-ups" in html and "Mona task" not in html


@pytest.mark.parametrize("action,data", [
    ("done", {"how": "called"}), ("skip", {"reason": "x"}),
    ("snooze", {"until": "2999-01-01"}), ("reassign", {"to": "1"}),
])
def test_someone_elses_follow_up_is_404(login, users, make_followup, action, data):
    theirs = make_followup(users["manager"], -1)
    response = login("coordinator").post(reverse(f"followups:{action}", args=[theirs.pk]), data)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == FollowUpStatus.OPEN and theirs.assignee == users["manager"]


def test_a_manager_may_act_on_anyones(login, users, make_followup):
    theirs = make_followup(users["coordinator"], -1)
    response = login("manager").post(reverse("followups:done", args=[theirs.pk]),
                                     {"how": "met", "who": "all"})
    assert response.status_code == 302 and response["Location"].endswith("?who=all")
    theirs.refresh_from_db()
    assert (theirs.status, theirs.done_how, theirs.completed_by) == (
        "done", "met", users["manager"])


def test_done_with_htmx_removes_the_row_and_refreshes_counts(login, users, thank_you,
                                                              make_followup):
    make_followup(users["coordinator"], -5, summary="Another late one")
    response = login("coordinator").post(
        reverse("followups:done", args=[thank_you.pk]), {"how": "called", "note": "spoke to MA"},
        **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="followup-{thank_you.pk}"' not in html  # nothing replaces the row
    assert 'id="inbox-count-overdue" class="inbox-count" hx-swap-oob="true">1<' in html
    assert "Done: Thank-you for John Smith, MD (called)." in html
    thank_you.refresh_from_db()
    assert (thank_you.status, thank_you.done_how, thank_you.note) == ("done", "called",
                                                                      "spoke to MA")


def test_done_without_js_redirects_with_a_message(login, thank_you):
    client = login("coordinator")
    response = client.post(reverse("followups:done", args=[thank_you.pk]), {"how": "sent"},
                           follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("followups:inbox")
    assert "Done: Thank-you for John Smith, MD (sent a message)." in html
    assert "Closed in the last 7 days" in html


def test_skip_without_reason_returns_the_row_with_the_error(login, thank_you):
    response = login("coordinator").post(reverse("followups:skip", args=[thank_you.pk]),
                                         {"reason": " "}, **HTMX)
    html = response.content.decode()
    assert f'id="followup-{thank_you.pk}"' in html
    assert "Skip: Say why this follow-up is skipped." in html
    thank_you.refresh_from_db()
    assert thank_you.status == FollowUpStatus.OPEN


def test_acting_on_a_closed_one_says_so(login, users, thank_you):
    thank_you.status = FollowUpStatus.DONE
    thank_you.save()
    client = login("coordinator")
    response = client.post(reverse("followups:snooze", args=[thank_you.pk]),
                           {"until": "2999-01-01"}, follow=True)
    assert "Snooze: This follow-up is already done; nothing changed." in (
        response.content.decode())


def test_snooze_from_the_date_box_and_reassign(login, users, thank_you, make_followup):
    client = login("coordinator")
    day = timezone.localdate() + timedelta(days=20)
    client.post(reverse("followups:snooze", args=[thank_you.pk]),
                {"until_date": day.isoformat()}, **HTMX)
    thank_you.refresh_from_db()
    assert timezone.localdate(thank_you.due_at) == day
    html = client.get(reverse("followups:inbox")).content.decode()
    assert "Thank Dr. Smith" not in html  # beyond the 14-day Upcoming horizon
    assert "1 more due after the next 14 days" in html
    assert "Thank Dr. Smith" in client.get(reverse("followups:inbox"),
                                           {"days": 60}).content.decode()

    other = make_followup(users["coordinator"], 0, summary="Hand me over")
    response = client.post(reverse("followups:reassign", args=[other.pk]),
                           {"to": users["outreach"].pk}, **HTMX)
    assert "Handed to Otto" in response.content.decode()
    other.refresh_from_db()
    assert other.assignee == users["outreach"]


def test_send_message_link_only_for_kinds_with_a_message(login, users, thank_you, make_followup):
    ask = make_followup(users["coordinator"], 0, kind=RuleKind.ASK_SOURCE,
                        summary="Ask who referred")
    html = login("coordinator").get(reverse("followups:inbox")).content.decode()
    compose = reverse("outbox:compose")
    assert f"{compose}?followup={thank_you.pk}" in html
    assert f"{compose}?followup={ask.pk}" not in html


def test_actions_need_post(login, thank_you):
    assert login("coordinator").get(reverse("followups:done", args=[thank_you.pk])
                                    ).status_code == 405


def test_the_menu_marks_the_current_section_and_counts_the_inbox_live(
        login, users, make_followup):
    """The menu's links are kept per process; the current section and the inbox count are
    each page's own."""
    client = login("coordinator")

    def menu(url: str) -> str:
        body = client.get(url).content.decode()
        return re.search(r'<nav aria-label="Main">(.*?)</nav>', body, re.S).group(1)

    first = menu(reverse("referrals:list"))
    assert re.search(r'href="/referrals/"\s+aria-current="page"', first)
    assert 'aria-label="0 overdue or due today"></span>' in first
    make_followup(users["coordinator"], -1, summary="Call the gym back")
    make_followup(users["coordinator"], 0, summary="Thank Riverside")
    board = menu(reverse("referrals:board"))
    assert re.search(r'href="/referrals/board/"\s+aria-current="page"', board)
    assert not re.search(r'href="/referrals/"\s+aria-current', board)
    assert 'aria-label="2 overdue or due today">2</span>' in board
    assert "\x00" not in board
