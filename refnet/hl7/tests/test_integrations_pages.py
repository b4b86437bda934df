"""Integrations pages: HL7 subscribers (list, add, edit, disable) and the log of HL7
messages and FHIR requests, with the raw message and an audit row per view."""

import pytest
from django.urls import reverse

from refnet.accounts.models import AuditEvent
from refnet.hl7.models import HL7Message, HL7Subscriber
from refnet.hl7.services import hl7_receive

from .conftest import sample, with_field


def test_a_manager_adds_edits_and_disables_a_subscriber(login, db):
    client = login("manager")
    response = client.post(reverse("integrations:subscriber_new"), {
        "sending_application": "EPIC", "sending_facility": "", "host": "10.0.0.5",
        "port": "2575", "enabled": "on"})
    assert response.status_code == 302
    subscriber = HL7Subscriber.objects.get()
    assert (subscriber.host, subscriber.port, subscriber.replies) == ("10.0.0.5", 2575, True)
    page = client.get(reverse("integrations:subscribers")).content.decode()
    assert "EPIC" in page and "10.0.0.5:2575" in page and "Replies on" in page

    client.post(reverse("integrations:subscriber_edit", args=[subscriber.pk]), {
        "sending_application": "EPIC", "sending_facility": "NORTH", "host": "10.0.0.6",
        "port": "2576", "enabled": "on"})
    subscriber.refresh_from_db()
    assert (subscriber.sending_facility, subscriber.host, subscriber.port) == \
        ("NORTH", "10.0.0.6", 2576)

    client.post(reverse("integrations:subscriber_enable", args=[subscriber.pk]),
                {"enabled": "0"})
    subscriber.refresh_from_db()
    assert not subscriber.enabled and not subscriber.replies
    assert "Disabled" in client.get(reverse("integrations:subscribers")).content.decode()


def test_a_host_without_a_port_is_refused_with_the_field_named(login, db):
    response = login("admin").post(reverse("integrations:subscriber_new"), {
        "sending_application": "EPIC", "host": "10.0.0.5", "port": ""})
    assert response.status_code == 422
    assert "Give the port the system listens on" in response.content.decode()
    assert not HL7Subscriber.objects.exists()


def test_the_same_sender_twice_is_refused(login, db):
    HL7Subscriber.objects.create(sending_application="EPIC", sending_facility="")
    response = login("manager").post(reverse("integrations:subscriber_new"), {
        "sending_application": "EPIC", "sending_facility": ""})
    assert response.status_code == 422
    assert HL7Subscriber.objects.count() == 1


@pytest.mark.parametrize("role", ["front_desk", "coordinator", "outreach"])
def test_other_roles_cannot_open_integrations(login, db, role):
    assert login(role).get(reverse("integrations:log")).status_code == 403


def test_the_log_lists_hl7_messages_by_ack_and_the_raw_message_view_is_audited(
        login, practice, users):
    good = hl7_receive(sample("2.5"), channel="http", actor="api-key:engine")
    bad = hl7_receive(with_field(sample("2.5"), "PID", 7, "19990231"), channel="mllp",
                      actor="mllp:2575")
    assert (good.code, bad.code) == ("AA", "AE")
    client = login("manager")
    page = client.get(reverse("integrations:log")).content.decode()
    assert "AA Accepted" in page and "AE Error" in page
    only_errors = client.get(reverse("integrations:log"), {"ack": "AE"}).content.decode()
    assert "AE Error" in only_errors and f"HL7 message #{good.message.pk}," not in only_errors
    assert AuditEvent.objects.filter(username="manager").count() == 0  # the list names nobody

    detail = client.get(reverse("integrations:hl7_message", args=[good.message.pk]))
    text = detail.content.decode()
    assert "PID|" in text and "MSA|AA|" in text
    audit = AuditEvent.objects.get(user=users["manager"])
    assert (audit.patient_id, audit.action) == (good.referral.patient_id, "view")

    client.get(reverse("integrations:hl7_message", args=[bad.message.pk]))
    refused = AuditEvent.objects.filter(user=users["manager"]).latest("id")
    assert refused.patient_id is None and "not on file" in refused.what
    stored = HL7Message.objects.get(pk=bad.message.pk)
    assert stored.raw.startswith("MSH|") and "MSA|AE|" in stored.ack
