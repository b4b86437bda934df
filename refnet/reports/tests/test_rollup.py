"""The monthly rollup stays exact after every kind of write, and the stage times and local
month are set the way reports count them."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from refnet.partners.models import Partner
from refnet.partners.services import partner_merge, partner_update
from refnet.practice.models import ServiceLine
from refnet.referrals.models import TRANSITIONS, Patient, Referral, ReferralStatus
from refnet.referrals.services import (
    referral_remove,
    referral_resolve_source,
    referral_restore,
    referral_transition,
)
from refnet.reports.models import (
    MonthlyPartnerStat,
    MonthlyPartnerTotal,
    MonthlyReferralStat,
    MonthlyZipStat,
    SpeedHistogram,
)
from refnet.reports.rollup import (
    RollupTally,
    delay_bucket,
    local_month,
    more_rollups,
    rollup_check,
    rollup_rebuild,
)

NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


def stats(**filters) -> dict[str, int]:
    rows = MonthlyReferralStat.objects.filter(**filters)
    return {c: sum(getattr(r, c) for r in rows)
            for c in ("received", "contacted", "scheduled", "seen", "won", "lost")}


def test_local_month_uses_practice_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    # 23:30 on January 31 in New York is 04:30 on February 1 in UTC.
    assert local_month(datetime(2025, 2, 1, 4, 30, tzinfo=UTC)) == 202501
    assert local_month(datetime(2025, 2, 1, 5, 0, tzinfo=UTC)) == 202502


@time_machine.travel(NOW, tick=False)
def test_month_boundary_in_local_time(make_referral):
    late_january = datetime(2025, 2, 1, 4, 30, tzinfo=UTC)  # 23:30 Jan 31 in New York
    referral = make_referral(received_at=late_january)
    assert referral.received_month == 202501
    assert stats(month=202501)["received"] == 1
    assert stats(month=202502)["received"] == 0
    assert rollup_check() == []


@time_machine.travel(NOW, tick=False)
def test_stage_times_first_reach_and_fill_earlier(make_referral, users):
    coordinator = users["coordinator"]
    referral = make_referral()
    referral = referral_transition(referral=referral, to_status="scheduled", by=coordinator)
    # Booked on the first call: contacted then too.
    assert referral.contacted_at == referral.scheduled_at == NOW
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        referral = referral_transition(referral=referral, to_status="contacted", by=coordinator)
        referral = referral_transition(referral=referral, to_status="scheduled", by=coordinator)
    assert referral.scheduled_at == NOW  # the first booking stands
    with time_machine.travel(NOW + timedelta(days=5), tick=False):
        referral = referral_transition(referral=referral, to_status="seen", by=coordinator)
        referral = referral_transition(referral=referral, to_status="closed_won", by=coordinator)
    assert referral.seen_at == referral.closed_at == NOW + timedelta(days=5)
    assert stats() == {"received": 1, "contacted": 1, "scheduled": 1, "seen": 1, "won": 1,
                       "lost": 0}
    lost = referral_transition(referral=make_referral(), to_status="closed_lost",
                               by=coordinator, outcome="no_response")
    assert (lost.contacted_at, lost.scheduled_at, lost.seen_at) == (None, None, None)
    assert lost.closed_at == NOW
    assert stats()["lost"] == 1
    assert rollup_check() == []


@time_machine.travel(NOW, tick=False)
def test_no_source_and_no_service_line(make_referral, make_patient, location):
    from refnet.referrals.services import referral_record

    referral_record(patient=make_patient(), source_unknown=True, location=location, by=None)
    row = MonthlyReferralStat.objects.get()
    assert (row.partner_kind, row.partner_category, row.owner_id, row.service_line_id) == (
        "", "", 0, 0)
    assert row.received == 1
    assert rollup_check() == []


@time_machine.travel(NOW, tick=False)
def test_partner_change_moves_counts(make_referral, make_partner, users):
    partner = make_partner(name="Peak Gym", kind="local_business", category="gym_trainer")
    for _ in range(3):
        make_referral(source_partner=partner)
    partner_update(partner=partner, by=None, category="sports_yoga", owner=users["outreach"])
    assert stats(partner_category="gym_trainer")["received"] == 0
    assert stats(partner_category="sports_yoga", owner_id=users["outreach"].pk)[
        "received"] == 3
    assert rollup_check() == []


@time_machine.travel(NOW, tick=False)
def test_check_reports_differences_and_rebuild_fixes(make_referral):
    make_referral()
    MonthlyReferralStat.objects.update(received=5)
    differences = rollup_check()
    assert len(differences) == 1 and "received 5 (expected 1)" in differences[0]
    rollup_rebuild()
    assert rollup_check() == []
    # The per-partner table without locations is checked and rebuilt the same way.
    MonthlyPartnerTotal.objects.update(contacted=7)
    differences = rollup_check()
    assert len(differences) == 1 and differences[0].startswith("reports_monthlypartnertotal")
    assert "contacted 7 (expected 0)" in differences[0]
    rollup_rebuild()
    assert rollup_check() == []


def _random_writes(rng: random.Random, steps: int, *, users, location, other_location,
                   make_partner, make_patient) -> None:
    """A seeded random walk of writes through the services (and two raw ones), checking
    the rollup after each step."""
    from refnet.referrals.services import referral_record

    lines = [None, ServiceLine.objects.create(name="Chiropractic"),
             ServiceLine.objects.create(name="Massage")]
    owners = [None, users["outreach"], users["manager"]]
    for name, kind, category in [
        ("Dr Ada Lee", "clinician", ""), ("Bay Practice", "medical_practice", ""),
        ("Core Gym", "local_business", "gym_trainer"), ("Core Gym LLC", "local_business", "shop"),
    ]:
        make_partner(name=name, kind=kind, category=category)
    patients = [make_patient(last_name=f"Synthetic{i}") for i in range(4)]
    start = datetime(2024, 12, 31, 20, 0, tzinfo=UTC)  # around New York's new year
    actions = ["record"] * 5 + ["transition"] * 6 + ["resolve", "merge", "partner",
                                                     "delete", "raw_status", "raw_move",
                                                     "patient_zip", "raw_times"] + [
        "remove", "remove", "restore"]
    for step in range(steps):
        action = rng.choice(actions)
        live = list(Partner.objects.live())
        # Removed referrals too: raw writes, merges and ZIP changes reach them as well, and
        # must leave the rollups as if they were not there.
        every = list(Referral.all_objects.all())
        referrals = [r for r in every if r.removed_at is None]
        removed = [r for r in every if r.removed_at is not None]
        if action == "record" or not referrals:
            unknown = rng.random() < 0.2
            referral_record(
                patient=rng.choice(patients),
                source_partner=None if unknown else rng.choice(live),
                source_unknown=unknown, location=rng.choice([location, other_location]),
                service_line=rng.choice(lines),
                received_at=start + timedelta(hours=rng.randrange(0, 24 * 40, 3)), by=None)
        elif action == "transition":
            referral = rng.choice(referrals)
            moves = TRANSITIONS[referral.status]
            if moves:
                to = rng.choice(moves)
                referral_transition(
                    referral=referral, to_status=to, by=users["coordinator"],
                    outcome="no_show" if to == ReferralStatus.CLOSED_LOST else "")
        elif action == "resolve":
            open_ = [r for r in referrals if r.source_status == "unresolved"]
            if open_:
                referral_resolve_source(referral=rng.choice(open_), partner=rng.choice(live),
                                        by=None)
        elif action == "merge" and len(live) > 2:
            survivor, duplicate = rng.sample(live, 2)
            partner_merge(survivor=survivor, duplicate=duplicate, by=None)
        elif action == "partner":
            partner = rng.choice(live)
            if partner.kind in ("local_business", "community_org"):
                fields = {"category": rng.choice(["gym_trainer", "shop", "realtor"])}
            elif rng.random() < 0.5:
                fields = {"kind": rng.choice(["clinician", "medical_practice"])}
            else:
                fields = {}
            partner_update(partner=partner, by=None, owner=rng.choice(owners), **fields)
        elif action == "delete":
            # A referral once removed keeps its removal record (PROTECT): never deleted.
            Referral.all_objects.filter(pk=rng.choice(every).pk, removals=None).delete()
        elif action == "remove":
            referral_remove(referral=rng.choice(referrals), by=users["manager"],
                            reason="Entered by mistake")
        elif action == "restore" and removed:
            referral_restore(referral=rng.choice(removed), by=users["manager"])
        elif action == "raw_status":
            with connection.cursor() as cursor:
                cursor.execute("UPDATE referrals_referral SET status = %s WHERE id = %s",
                               [rng.choice(ReferralStatus.values), rng.choice(every).pk])
        elif action == "raw_move":
            # Several rows at once, across months and locations.
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE referrals_referral SET location_id = %s, "
                    "received_month = received_month + 1 WHERE id %% 2 = %s",
                    [rng.choice([location, other_location]).pk, rng.randrange(2)])
        elif action == "patient_zip":
            # Moves the ZIP rollup's counts for every referral of that patient.
            Patient.objects.filter(pk=rng.choice(patients).pk).update(
                zip_code=rng.choice(["", "80202", "80203-1234", "10001"]))
        elif action == "raw_times":
            # Moves the speed histogram: a first contact hours or weeks after receipt.
            referral = rng.choice(every)
            Referral.all_objects.filter(pk=referral.pk).update(
                contacted_at=referral.received_at + timedelta(
                    hours=rng.choice([0.5, 5, 47.9, 48, 24 * 30, 24 * 200])),
                seen_at=rng.choice([None, referral.received_at + timedelta(days=9)]))
        assert rollup_check() == [], f"after step {step}: {action}"


@time_machine.travel(NOW, tick=True)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_keep_rollup_exact(seed, users, location, other_location,
                                         make_partner, make_patient):
    _random_writes(random.Random(seed), 60, users=users, location=location,
                   other_location=other_location, make_partner=make_partner,
                   make_patient=make_patient)
    assert MonthlyReferralStat.objects.exists()
    assert MonthlyPartnerStat.objects.exists() and MonthlyZipStat.objects.exists()
    assert MonthlyPartnerTotal.objects.exists()
    assert SpeedHistogram.objects.exists()
    assert Referral.all_objects.filter(removed_at__isnull=False).exists()  # walked there
    before = {(r.month, r.location_id, r.received) for r in MonthlyReferralStat.objects.all()
              if r.received}
    rollup_rebuild()
    after = {(r.month, r.location_id, r.received) for r in MonthlyReferralStat.objects.all()}
    assert before == after


def _stages(referral: Referral) -> tuple:
    """RollupTally's stages of a saved referral."""
    def bucket(moment):
        if moment is None:
            return None
        if connection.vendor == "sqlite":  # strftime('%s'): whole seconds, subtracted
            return delay_bucket(int(moment.timestamp())
                                - int(referral.received_at.timestamp()))
        return delay_bucket(math.floor((moment - referral.received_at).total_seconds()))

    return (referral.status, bucket(referral.contacted_at), referral.scheduled_at is not None,
            bucket(referral.seen_at))


@time_machine.travel(NOW, tick=True)
@pytest.mark.parametrize("seed", [4, 5])
def test_a_tally_counts_what_the_insert_triggers_count(seed, users, location,
                                                       other_location, make_partner,
                                                       make_patient):
    """RollupTally (the import's way on SQLite: count in Python, upsert per key) gives
    every rollup table what the triggers gave it, for referrals of every kind: with and
    without source, service line or ZIP, at every stage, with delays across the speed
    buckets, under partners whose kind, category and owner moved."""
    rng = random.Random(seed)
    _random_writes(rng, 60, users=users, location=location, other_location=other_location,
                   make_partner=make_partner, make_patient=make_patient)
    referrals = list(Referral.objects.select_related("patient"))
    assert referrals
    tables = [MonthlyReferralStat._meta.db_table] + [r.table for r in more_rollups()]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")
    assert rollup_check() != []
    # In two writes (new keys, then keys already there), the first in two batches.
    rng.shuffle(referrals)
    tally = RollupTally()
    half = len(referrals) // 2
    for n, part in enumerate((referrals[:half // 2], referrals[half // 2:half],
                              referrals[half:])):
        tally.add([r.received_month for r in part], [r.location_id for r in part],
                  [r.service_line_id for r in part], [r.source_partner_id for r in part],
                  [(r.patient.zip_code or "")[:5] for r in part], [_stages(r) for r in part])
        if n:
            tally.write()
    assert not tally
    assert rollup_check() == []
    assert SpeedHistogram.objects.exclude(bucket=0).exists()  # not only zero delays
    assert MonthlyZipStat.objects.exclude(zip5="").exists() or not Patient.objects.exclude(
        zip_code="").filter(referrals__isnull=False).exists()


def test_seed_then_rollup_exact(db):
    from refnet.practice.seed import seed_database

    report = seed_database(partners=60, referrals=600, stream=None,
                           now=datetime(2025, 3, 10, 15, 0, tzinfo=UTC))
    assert report.referrals == 600
    assert rollup_check() == []
    assert stats()["received"] == 600
    assert not Referral.objects.filter(received_month=0).exists()
    # Stage times agree with the statuses the seeder wrote.
    assert not Referral.objects.filter(status="closed_won", seen_at__isnull=True).exists()
    assert not Referral.objects.filter(status="received", contacted_at__isnull=False).exists()
    assert not Referral.objects.filter(status__in=["closed_won", "closed_lost"],
                                       closed_at__isnull=True).exists()
    sample = Referral.objects.order_by("pk")[:50]
    assert all(r.received_month == local_month(r.received_at) for r in sample)
    # A referral written afterwards goes through the recreated triggers. (On PostgreSQL
    # the seeder's SET LOCAL session_replication_role would last to the end of this
    # test's transaction, where a real load has committed: undo it here.)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")
    referral = Referral.objects.order_by("pk").first()
    Referral.objects.filter(pk=referral.pk).update(received_month=190001)
    assert stats(month=190001)["received"] == 1
    assert rollup_check() == []


@time_machine.travel(NOW, tick=False)
def test_insert_cost_with_and_without_triggers(make_referral, capsys):
    """Not a pass/fail figure: how much the triggers add to one referral insert (printed,
    see docs/benchmarks.md)."""
    import time

    from refnet.reports.rollup import rollup_triggers_dropped

    source = make_referral().pk
    columns = ", ".join(f.column for f in Referral._meta.concrete_fields if not f.primary_key)
    # A bare SQL insert, so that the history and follow-up rules of a service call do not
    # hide the triggers' share.
    sql = (f"INSERT INTO referrals_referral ({columns}) SELECT {columns} "
           "FROM referrals_referral WHERE id = %s")

    def insert_many(n: int) -> float:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            for _ in range(n):
                cursor.execute(sql, [source])
            return (time.perf_counter() - started) / n * 1e6

    insert_many(50)  # warm up
    with_triggers = insert_many(500)
    with rollup_triggers_dropped():
        without = insert_many(500)
    with capsys.disabled():
        print(f"\n[{connection.vendor}] referral insert: {with_triggers:.0f} us with triggers, "
              f"{without:.0f} us without")
    assert rollup_check() == []
    assert timezone.now() == NOW


def test_demo_rollup_exact_and_patient_zips_have_centroids(db):
    from refnet.practice.demo import build_demo
    from refnet.practice.models import ZipCentroid
    from refnet.referrals.models import Patient

    build_demo()
    assert rollup_check() == []
    assert not Referral.objects.filter(received_month=0).exists()
    assert not Referral.objects.filter(status="closed_won", seen_at__isnull=True).exists()
    # The stage times agree with the timeline: the first event reaching "scheduled" or
    # later is when it was first scheduled.
    booked = Referral.objects.filter(scheduled_at__isnull=False).order_by("pk").first()
    first = booked.events.filter(to_status__in=["scheduled", "seen", "closed_won"]).first()
    assert booked.scheduled_at == first.at
    zips = set(Patient.objects.values_list("zip_code", flat=True))
    assert zips <= set(ZipCentroid.objects.values_list("zip_code", flat=True))


def _snapshot() -> dict[str, set[tuple]]:
    """Every rollup table's non-zero rows."""
    tables = {}
    for model in (MonthlyReferralStat, MonthlyPartnerStat, MonthlyPartnerTotal,
                  MonthlyZipStat, SpeedHistogram):
        counts = [f.name for f in model._meta.fields
                  if f.name in ("received", "contacted", "scheduled", "seen", "won", "lost",
                                "n")]
        tables[model.__name__] = {
            tuple((f.name, getattr(row, f.name)) for f in model._meta.fields if f.name != "id")
            for row in model.objects.all() if any(getattr(row, c) for c in counts)}
    return tables


@time_machine.travel(NOW, tick=True)
def test_a_removed_referral_drops_out_of_every_rollup_and_comes_back_on_restore(
        make_referral, make_partner, make_patient, users):
    from django.core.management import call_command

    partner = make_partner(name="Peak Gym", kind="local_business", category="gym_trainer")
    keep = make_referral(source_partner=partner, patient=make_patient(zip_code="80202"))
    mistake = make_referral(source_partner=partner, patient=make_patient(zip_code="80203"))
    for step in ("contacted", "scheduled", "seen", "closed_won"):
        mistake = referral_transition(referral=mistake, to_status=step, by=None)
    with_both = _snapshot()
    assert stats()["won"] == 1 and stats()["received"] == 2

    referral_remove(referral=mistake, by=users["manager"], reason="Wrong patient")
    assert stats() == {"received": 1, "contacted": 0, "scheduled": 0, "seen": 0, "won": 0,
                       "lost": 0}
    assert sum(r.received for r in MonthlyPartnerTotal.objects.all()) == 1
    assert sum(r.won for r in MonthlyPartnerStat.objects.all()) == 0
    zips = {r.zip5: r.received for r in MonthlyZipStat.objects.all() if r.received}
    assert zips == {"80202": 1}
    assert sum(r.n for r in SpeedHistogram.objects.all()) == 0  # only the mistake was seen
    assert rollup_check() == []
    # Changes that reach every referral of a partner or patient leave it out, too.
    partner_update(partner=partner, by=None, category="shop")
    Patient.objects.filter(pk=mistake.patient_id).update(zip_code="10001")
    assert stats(partner_category="shop")["received"] == 1
    assert rollup_check() == []
    partner_update(partner=partner, by=None, category="gym_trainer")
    Patient.objects.filter(pk=mistake.patient_id).update(zip_code="80203")

    referral_restore(referral=mistake, by=users["manager"])
    assert _snapshot() == with_both
    assert rollup_check() == []
    # `refnet reports_rebuild --check` agrees, and a rebuild leaves the same counts.
    referral_remove(referral=keep, by=users["manager"], reason="Test entry")
    call_command("reports_rebuild", "--check")
    before = _snapshot()
    rollup_rebuild()
    assert _snapshot() == before
