"""The updates pages: who may use them, writing a draft, the preview, publishing, the
record."""

import pytest
from django.urls import reverse

from refnet.outbox.models import OutboxMessage
from refnet.updates.models import DeliveryStatus, Update, UpdateStatus
from refnet.updates.services import update_create, update_publish


@pytest.mark.parametrize(("role", "allowed"), [
    ("front_desk", False), ("coordinator", False), ("outreach", True), ("manager", True),
    ("admin", True),
])
def test_who_may_send_updates(login, role, allowed):
    client = login(role)
    for name in ("updates:list", "updates:new"):
        assert (client.get(reverse(name)).status_code == 200) is allowed
    response = client.post(reverse("updates:new"), {"title": "Hi", "kind": "news",
                                                     "body": "x"})
    assert (response.status_code == 403) is not allowed
    assert Update.objects.exists() is allowed


def test_writing_previewing_and_publishing(clock, login, make_partner, gym):
    make_partner(name="Quiet Realty", kind="local_business", category="realtor",
                 email="q@x.example", do_not_contact=True)
    make_partner(name="Dr. Lee", kind="clinician", email="lee@x.example")
    client = login("outreach")
    response = client.post(reverse("updates:new"), {
        "title": "Free injury screens", "kind": "treatment",
        "body": "Dear {{ partner.greeting }}, bring your athletes.",
        "kinds": ["local_business"]})
    update = Update.objects.get()
    assert response.url == reverse("updates:detail", args=[update.pk])
    page = client.get(response.url).content.decode()
    assert "matches <strong>2 partners</strong>" in page
    assert "Sent at once: <strong>1</strong> (Email 1)" in page
    assert "asked for no contact 1" in page
    assert OutboxMessage.objects.count() == 0

    response = client.post(reverse("updates:publish", args=[update.pk]), follow=True)
    assert "Published to 2 partners: 1 now, 0 at their next allowed time, 1 skipped." in \
        response.content.decode()
    update.refresh_from_db()
    assert update.status == UpdateStatus.SENDING
    page = client.get(reverse("updates:detail", args=[update.pk])).content.decode()
    assert "Iron Works Gym" in page and "Quiet Realty" in page and "Dr. Lee" not in page
    assert "Asked for no contact" in page
    skipped = client.get(reverse("updates:detail", args=[update.pk]) + "?status=skipped")
    assert "Iron Works Gym" not in skipped.content.decode()
    # publishing twice does nothing more
    client.post(reverse("updates:publish", args=[update.pk]))
    assert OutboxMessage.objects.count() == 1


def test_a_patient_placeholder_is_refused_on_the_form(login):
    response = login("outreach").post(reverse("updates:new"), {
        "title": "Hi", "kind": "news", "body": "We treated {{ patient.name }}."})
    assert response.status_code == 400
    assert "patient.name" in response.content.decode()
    assert not Update.objects.exists()


def test_hostile_titles_are_shown_as_text(login):
    update_create(by=None, title="<script>alert(1)</script>", body="x", audience={})
    page = login("manager").get(reverse("updates:list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_published_update_cannot_be_edited_or_deleted(clock, login, gym):
    update = update_create(by=None, title="Hi", body="x", audience={})
    update_publish(update=update, by=None)
    client = login("manager")
    response = client.post(reverse("updates:edit", args=[update.pk]),
                           {"title": "Changed", "kind": "news", "body": "y"})
    assert response.status_code == 302
    client.post(reverse("updates:delete", args=[update.pk]))
    update.refresh_from_db()
    assert update.title == "Hi"
    assert update.deliveries.get().status == DeliveryStatus.QUEUED


def test_a_draft_can_be_edited_and_deleted(login):
    update = update_create(by=None, title="Hi", body="x", audience={})
    client = login("outreach")
    client.post(reverse("updates:edit", args=[update.pk]),
                {"title": "Hello", "kind": "price", "body": "New prices.",
                 "stages": ["active"]})
    update.refresh_from_db()
    assert (update.title, update.kind, update.audience["stages"]) == ("Hello", "price",
                                                                      ["active"])
    client.post(reverse("updates:delete", args=[update.pk]))
    assert not Update.objects.exists()
