"""Cadence: a partner hears from us no more often than their cadence allows, and the
updates that wait go out together as one message."""

from datetime import timedelta

from refnet.outbox.models import OutboxMessage, Purpose
from refnet.updates.models import DeliveryStatus, UpdateStatus
from refnet.updates.services import update_create, update_publish, updates_tick

from .conftest import T0, contact_partner


def _publish(by, title, body="Body.", audience=None):
    update = update_create(by=by, title=title, body=body, kind="treatment",
                           audience=audience or {})
    update_publish(update=update, by=by)
    update.refresh_from_db()
    return update


def _update_messages(partner):
    return list(OutboxMessage.objects.filter(partner=partner, purpose=Purpose.PARTNER_UPDATE))


def test_a_partner_never_contacted_gets_the_update_at_once(clock, users, gym):
    update = _publish(users["outreach"], "Dry needling now offered")
    delivery = update.deliveries.get()
    assert delivery.status == DeliveryStatus.QUEUED
    assert delivery.queued_at == T0
    [message] = _update_messages(gym)
    assert delivery.message == message
    assert message.subject == "Dry needling now offered"
    assert "Dear Iron Works Gym," in message.body_text
    assert update.status == UpdateStatus.SENDING


def test_contacted_yesterday_with_cadence_30_gets_it_in_29_days(clock, users, gym):
    clock.at(T0 - timedelta(days=1))
    contact_partner(gym)
    clock.at(T0)
    update = _publish(users["outreach"], "New prices for 2025")
    delivery = update.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.scheduled_for == T0 + timedelta(days=29)
    assert update.status == UpdateStatus.SCHEDULED

    clock.at(T0 + timedelta(days=28, hours=23))
    assert updates_tick()["update_batches"] == 0
    assert _update_messages(gym) == []

    clock.at(T0 + timedelta(days=29))
    assert updates_tick()["update_batches"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.QUEUED
    assert delivery.queued_at == T0 + timedelta(days=29)
    assert len(_update_messages(gym)) == 1


def test_two_updates_within_one_cadence_go_out_as_one_message_newest_first(
        clock, users, gym):
    clock.at(T0 - timedelta(days=1))
    contact_partner(gym)
    clock.at(T0)
    first = _publish(users["outreach"], "Dry needling now offered", body="Ask us about it.")
    clock.at(T0 + timedelta(days=3))
    second = _publish(users["manager"], "Saturday hours", body="Open 8 to 12.")

    clock.at(T0 + timedelta(days=29))
    assert updates_tick()["update_batches"] == 1
    [message] = _update_messages(gym)
    assert message.subject == "2 updates from Front Range Physical Therapy"
    text = message.body_text
    assert text.index("Saturday hours") < text.index("Dry needling now offered")
    assert "Open 8 to 12." in text and "Ask us about it." in text
    one = first.deliveries.get()
    two = second.deliveries.get()
    assert one.message == two.message == message
    assert one.batch_key == two.batch_key == message.dedupe_key


def test_an_update_right_after_another_waits_for_the_cadence(clock, users, gym):
    _publish(users["outreach"], "Dry needling now offered")  # goes out now
    clock.at(T0 + timedelta(hours=2))
    second = _publish(users["outreach"], "Saturday hours")
    delivery = second.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.scheduled_for == T0 + timedelta(days=30)


def test_a_message_sent_meanwhile_pushes_the_batch_back(clock, users, gym):
    clock.at(T0 - timedelta(days=1))
    contact_partner(gym)
    clock.at(T0)
    update = _publish(users["outreach"], "Saturday hours")
    clock.at(T0 + timedelta(days=10))
    contact_partner(gym, purpose="thank_you")  # a thank-you went out on day 10
    clock.at(T0 + timedelta(days=29))
    assert updates_tick()["update_batches"] == 0
    delivery = update.deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.scheduled_for == T0 + timedelta(days=40)


def test_the_tick_is_idempotent(clock, users, gym):
    clock.at(T0 - timedelta(days=1))
    contact_partner(gym)
    clock.at(T0)
    _publish(users["outreach"], "Saturday hours")
    clock.at(T0 + timedelta(days=29))
    assert updates_tick()["update_batches"] == 1
    assert updates_tick()["update_batches"] == 0
    clock.at(T0 + timedelta(days=90))
    assert updates_tick()["update_batches"] == 0
    assert len(_update_messages(gym)) == 1


def test_a_large_audience_is_sent_by_the_worker_a_bounded_number_per_tick(
        clock, users, make_partner, monkeypatch):
    from refnet.updates import services

    monkeypatch.setattr(services, "PUBLISH_INLINE_MAX", 2)
    monkeypatch.setattr(services, "BATCHES_PER_TICK", 2)
    gyms = [make_partner(name=f"Gym {n}", kind="local_business", category="gym_trainer",
                         email=f"gym{n}@example.com") for n in range(3)]
    update = update_create(by=users["outreach"], title="Dry needling", body="Body.",
                           kind="treatment", audience={})
    plan = update_publish(update=update, by=users["outreach"])
    update.refresh_from_db()
    # Three due now is over the inline limit: nothing was sent inside the request.
    assert (plan.now_total, plan.deferred) == (3, True)
    assert OutboxMessage.objects.filter(purpose=Purpose.PARTNER_UPDATE).count() == 0
    assert set(update.deliveries.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    assert update.status == UpdateStatus.SCHEDULED
    assert updates_tick()["update_batches"] == 2
    assert updates_tick()["update_batches"] == 1
    assert updates_tick()["update_batches"] == 0
    for gym in gyms:
        [message] = _update_messages(gym)
        assert message.subject == "Dry needling"
    update.refresh_from_db()
    assert update.status == UpdateStatus.SENDING
