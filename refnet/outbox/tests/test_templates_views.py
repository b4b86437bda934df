"""The template list and editor: managers only, the guard's errors next to the field, a
live preview rendered from sample values, and the history of changes."""

import pytest

from refnet.outbox.models import MessageTemplate


@pytest.fixture
def general_thanks(db):
    return MessageTemplate.objects.get(purpose="thank_you", channel="email", audience="general")


def test_the_list_shows_each_purpose_with_channel_and_audience(login):
    response = login("manager").get("/messages/templates/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Thank-you for a referral" in page and "Progress report" in page
    assert "Printed letter" in page and "Clinical" in page and "General" in page


def test_only_template_editors_may_open_it(login, general_thanks):
    assert login("coordinator").get("/messages/templates/").status_code == 403
    assert login("outreach").get(f"/messages/templates/{general_thanks.pk}/").status_code == 403


def test_saving_a_template_keeps_who_changed_it(login, users, general_thanks):
    client = login("manager")
    response = client.post(f"/messages/templates/{general_thanks.pk}/", {
        "subject": "Thank you, {{ partner.greeting }}",
        "body": "Thank you for telling people about us.\n\n{{ sender.name }}",
        "is_active": "on",
    })
    assert response.status_code == 302
    general_thanks.refresh_from_db()
    assert general_thanks.subject == "Thank you, {{ partner.greeting }}"
    assert general_thanks.updated_by == users["manager"]
    assert general_thanks.history.first().history_user == users["manager"]
    page = client.get(f"/messages/templates/{general_thanks.pk}/").content.decode()
    assert f"Last changed by {users['manager']}" in page


def test_a_patient_variable_for_the_general_audience_is_refused_next_to_the_field(
        login, general_thanks):
    before = general_thanks.body
    response = login("manager").post(f"/messages/templates/{general_thanks.pk}/", {
        "subject": "Thanks", "body": "Thank you for sending {{ patient.first_name }}!",
        "is_active": "on",
    })
    page = response.content.decode()
    assert response.status_code == 400
    assert "{{ patient.first_name }} may not be used in a message for the general audience" \
        in page
    assert 'id="id_body"' in page and "field-error" in page
    general_thanks.refresh_from_db()
    assert general_thanks.body == before


def test_a_new_template_is_checked_against_its_audience_and_must_not_clash(login):
    client = login("manager")
    refused = client.post("/messages/templates/new/", {
        "purpose": "outcome_update", "channel": "sms", "audience": "named",
        "subject": "", "body": "{{ referral.outcome }}", "is_active": "on"})
    assert refused.status_code == 400
    assert "named audience" in refused.content.decode()
    created = client.post("/messages/templates/new/", {
        "purpose": "outcome_update", "channel": "sms", "audience": "clinical",
        "subject": "", "body": "{{ patient.first_name }}: {{ referral.outcome }}",
        "is_active": "on"})
    assert created.status_code == 302
    assert MessageTemplate.objects.filter(purpose="outcome_update", channel="sms").count() == 1
    clash = client.post("/messages/templates/new/", {
        "purpose": "outcome_update", "channel": "sms", "audience": "clinical",
        "subject": "", "body": "again", "is_active": "on"})
    assert clash.status_code == 400 and "already exists" in clash.content.decode()


def test_the_preview_renders_sample_values_for_the_audience(login):
    response = login("manager").post("/messages/templates/preview/", {
        "audience": "clinical", "channel": "email", "subject": "About {{ patient.name }}",
        "body": "Dear {{ partner.greeting }}, {{ patient.first_name }} was seen.",
    }, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert "About Alex Sample" in page and "Dear Dr. Rivera, Alex was seen." in page
    assert "srcdoc=" in page  # the HTML email, sandboxed


def test_the_preview_shows_the_guards_errors(login):
    response = login("manager").post("/messages/templates/preview/", {
        "audience": "general", "channel": "sms", "subject": "",
        "body": "{% load static %}{{ patient.name }}",
    })
    page = response.content.decode()
    assert response.status_code == 200
    assert "{% load %} is not allowed" in page
