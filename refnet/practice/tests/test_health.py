"""/health/: what a load balancer or a monitoring probe sees, without logging in."""

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from refnet.outbox.models import WorkerHeartbeat
from refnet.outbox.worker import heartbeat

pytestmark = pytest.mark.django_db


def test_fine_when_the_database_answers_and_a_worker_beat_recently(client):
    heartbeat("web1:123:abc")  # what `refnet worker` does at every tick
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["worker"]["last_beat_seconds_ago"] < 5
    assert "problems" not in body
    assert "no-cache" in response["Cache-Control"]


def test_is_cheap_two_queries(client, django_assert_max_num_queries):
    heartbeat("web1:123:abc")
    with django_assert_max_num_queries(2):
        assert client.get("/health/").status_code == 200


def test_no_worker_ever_is_503_naming_it(client):
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["database"] == "ok"
    assert body["problems"] == ["no worker heartbeat: no refnet worker is running"]


def test_a_worker_silent_for_too_long_is_503_with_its_age(client, settings):
    settings.REFNET_HEALTH_WORKER_MAX_AGE_SECONDS = 60
    heartbeat("web1:123:abc")
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(seconds=95))
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["problems"] == ["no worker heartbeat within 60 s (last 95 s ago)"]


def test_a_worker_that_stopped_cleanly_does_not_count(client):
    heartbeat("web1:123:abc", stopped=True)  # what SIGTERM leaves behind
    assert client.get("/health/").status_code == 503
    heartbeat("web1:456:def")  # its replacement starts
    assert client.get("/health/").status_code == 200


def test_one_live_worker_among_dead_ones_is_enough(client):
    heartbeat("web1:1:dead")
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(hours=2))
    heartbeat("web2:2:live")
    assert client.get("/health/").status_code == 200


def test_worker_not_required_by_setting_still_reports_it(client, settings):
    settings.REFNET_HEALTH_REQUIRE_WORKER = False
    response = client.get("/health/")
    assert response.status_code == 200
    assert "no refnet worker is running" in response.json()["worker"]["note"]


def test_database_unreachable_is_503_naming_it(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["problems"] == ["database unreachable"]
    assert body["database"] == "unreachable"
    assert "connection refused" not in response.content.decode()  # no internals to strangers


def test_only_reads(client):
    heartbeat("web1:123:abc")
    assert client.post("/health/").status_code == 405
    assert client.head("/health/").status_code == 200
