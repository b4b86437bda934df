"""The outreach pages: who may use them, the event flow from playbook to attribution,
RSVP and attendance by htmx, the public RSVP link, the partner page's panel."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from refnet.followups.models import FollowUp
from refnet.outbox.models import OutboxMessage
from refnet.outreach.models import Event, Invitee, Playbook
from refnet.outreach.services import invitees_add, rsvp_token

ALLOWED = ["outreach", "manager", "admin"]
REFUSED = ["front_desk", "coordinator"]


@pytest.mark.parametrize("role", ALLOWED + REFUSED)
def test_only_outreach_managers_and_admins_use_events(login, role, make_event, gym):
    event = make_event()
    invitees_add(event=event, by=None, partners=[gym])
    client = login(role)
    urls = [reverse("outreach:events"), reverse("outreach:playbooks"),
            reverse("outreach:event", args=[event.pk]), reverse("outreach:event_new")]
    for url in urls:
        assert client.get(url).status_code == (200 if role in ALLOWED else 403), url
    response = client.post(reverse("outreach:event_send", args=[event.pk]))
    assert response.status_code == (302 if role in ALLOWED else 403)
    assert OutboxMessage.objects.count() == (1 if role in ALLOWED else 0)


def test_from_playbook_to_invitations(login, users, gym, make_partner):
    client = login("outreach")
    gym2 = make_partner(name="Summit Strength", kind="local_business",
                        category="gym_trainer", email="hello@summit.example")
    make_partner(name="Corner Books", kind="local_business", category="shop",
                 email="books@corner.example")
    page = client.get(reverse("outreach:playbooks") + "?category=gym_trainer")
    talk = Playbook.objects.get(name="Talk at a gym for its trainers")
    assert talk.name in page.content.decode()
    assert "Session for teachers" not in page.content.decode()

    start = timezone.localtime() + timedelta(days=30)
    response = client.post(reverse("outreach:playbook_apply", args=[talk.pk]), {
        "title": "Trainer talk", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "place": "Iron Works Gym", "owner": users["outreach"].pk, "cost": ""})
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(
        reverse("outreach:event", args=[event.pk]))
    assert event.cost == Decimal("150.00")
    assert FollowUp.objects.filter(assignee=users["outreach"]).count() == len(talk.steps)

    found = client.get(reverse("outreach:invitee_picker", args=[event.pk]),
                       {"category": "gym_trainer"}).content.decode()
    assert "Iron Works Gym" in found and "Summit Strength" in found
    assert "Corner Books" not in found
    client.post(reverse("outreach:invitees_add", args=[event.pk]),
                {"partner": [gym.pk, gym2.pk]})
    assert event.invitees.count() == 2

    client.post(reverse("outreach:event_send", args=[event.pk]))
    client.post(reverse("outreach:event_send", args=[event.pk]))
    assert OutboxMessage.objects.filter(purpose="event_invite").count() == 2
    page = client.get(reverse("outreach:event", args=[event.pk])).content.decode()
    assert "hello@summit.example" in page


def test_blocked_invitees_are_named_after_sending(login, make_event, make_partner):
    event = make_event()
    shop = make_partner(name="No Mail Shop", kind="local_business", category="shop")
    invitees_add(event=event, by=None, partners=[shop])
    response = login("outreach").post(reverse("outreach:event_send", args=[event.pk]),
                                      follow=True)
    assert "Not sent to No Mail Shop: no email address" in response.content.decode()


def test_bad_event_form_names_the_fields(login):
    response = login("outreach").post(reverse("outreach:event_new"), {
        "title": "", "kind": "talk", "starts_at": "tomorrow", "ends_at": "2030-01-01T10:00",
        "cost": "-3", "attribution_days": "90"})
    body = response.content.decode()
    assert response.status_code == 200 and not Event.objects.exists()
    assert "Give the event a title." in body and "Enter a date and time" in body


def test_ends_before_start_is_refused(login, users):
    response = login("outreach").post(reverse("outreach:event_new"), {
        "title": "Backwards", "kind": "talk", "starts_at": "2030-01-01T10:00",
        "ends_at": "2030-01-01T09:00", "cost": "0", "attribution_days": "90",
        "owner": users["outreach"].pk})
    assert "The event must end after it starts." in response.content.decode()
    assert not Event.objects.exists()


def test_rsvp_and_attendance_by_htmx(login, make_event, gym):
    past = timezone.now() - timedelta(days=2)
    event = make_event(starts_at=past, ends_at=past + timedelta(hours=1))
    invitees_add(event=event, by=None, partners=[gym])
    invitee = Invitee.objects.get()
    client = login("outreach")
    url = reverse("outreach:invitee_update", args=[event.pk, invitee.pk])
    response = client.post(url, {"rsvp": "yes"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="invitee-' in response.content.decode()
    response = client.post(url, {"attended": "yes"}, HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "attendance-changed"
    invitee.refresh_from_db()
    assert invitee.rsvp == "yes" and invitee.attended
    attribution = client.get(reverse("outreach:event_attribution", args=[event.pk]))
    assert "Iron Works Gym" in attribution.content.decode()
    assert "none attributed yet" in attribution.content.decode()


def test_attendance_before_the_event_is_refused(login, make_event, gym):
    event = make_event()
    invitees_add(event=event, by=None, partners=[gym])
    invitee = Invitee.objects.get()
    response = login("outreach").post(
        reverse("outreach:invitee_update", args=[event.pk, invitee.pk]),
        {"attended": "yes"}, HTTP_HX_REQUEST="true")
    assert "has not started yet" in response.content.decode()
    invitee.refresh_from_db()
    assert not invitee.attended


def test_an_invitee_of_another_event_is_not_found(login, make_event, gym):
    one, two = make_event(), make_event(title="Other")
    invitees_add(event=one, by=None, partners=[gym])
    invitee = Invitee.objects.get()
    response = login("outreach").post(
        reverse("outreach:invitee_update", args=[two.pk, invitee.pk]), {"rsvp": "no"})
    assert response.status_code == 404


def test_the_public_rsvp_link(client, make_event, gym):
    event = make_event(title="<b>Gym</b> night")
    invitees_add(event=event, by=None, partners=[gym])
    invitee = Invitee.objects.get()
    url = reverse("outreach:rsvp", args=[rsvp_token(invitee)])
    page = client.get(url)
    assert page.status_code == 200 and "&lt;b&gt;Gym&lt;/b&gt; night" in page.content.decode()
    response = client.post(url, {"rsvp": "maybe"})
    assert "we have your answer (maybe)" in response.content.decode()
    invitee.refresh_from_db()
    assert invitee.rsvp == "maybe"
    assert client.post(url, {"rsvp": "attended"}).status_code == 400
    assert client.get(url[:-3] + "xx/").status_code == 404


def test_partner_page_lists_its_events_for_outreach(login, make_event, gym):
    event = make_event(title="Spring gym talk")
    invitees_add(event=event, by=None, partners=[gym])
    page = login("outreach").get(reverse("partners:detail", args=[gym.pk])).content.decode()
    assert "Spring gym talk" in page
    page = login("front_desk").get(reverse("partners:detail", args=[gym.pk])).content.decode()
    assert "Spring gym talk" not in page


def test_events_list_shows_totals(login, make_event, gym, make_referral):
    start = timezone.now() - timedelta(days=100)
    event = make_event(title="Old talk", starts_at=start, ends_at=start + timedelta(hours=1),
                       cost=Decimal("300.00"), attribution_days=30)
    invitees_add(event=event, by=None, partners=[gym])
    Invitee.objects.update(attended=True)
    for days in (1, 2, 3):
        make_referral(source_partner=gym, received_at=start + timedelta(days=days))
    page = login("outreach").get(reverse("outreach:events")).content.decode()
    assert "Old talk" in page and "$100.00" in page  # 300 / 3 attributed (no baseline)


def test_patient_referrers_are_not_offered_as_invitees(login, make_event, make_partner,
                                                       make_patient):
    event = make_event()
    make_partner(name="Ada Friendly", kind="patient_referrer", patient=make_patient())
    found = login("outreach").get(reverse("outreach:invitee_picker", args=[event.pk]),
                                  {"q": "Ada"}).content.decode()
    assert "Ada Friendly" not in found
