"""Importing referrals: dry-run report, modes, idempotency, patients, sources, rollups."""

from datetime import date

import pytest

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.imports.models import ImportMode, JobStatus
from refnet.imports.services import job_commit, job_dry_run, job_set_choices, job_start
from refnet.referrals.models import (
    Patient,
    PatientIdentifier,
    Referral,
    ReferralEvent,
    ReferralIdentifier,
)
from refnet.reports.models import MonthlyReferralStat
from refnet.reports.rollup import rollup_check, rollup_triggers_installed

HEADER = ("Referral ID,Received,Patient First,Patient Last,DOB,MRN,Referring NPI,Referred By,"
          "Clinic,Service,Status,Priority\n")
GOOD = (
    "R1,2024-01-05,Ada,Okafor,3/4/1980,M-1,1234567893,,Main Street Clinic,Physical therapy,"
    "received,routine\n"
    "R2,45292,Bea,Lind,,,,\"Dana Whitfield, MD\",Westside Clinic,,seen,urgent\n"
    "R3,1/7/2024,Ada,Okafor,3/4/1980,M-1,,,Main Street Clinic,,Closed: became a patient,\n"
    "R4,2024-01-08,Cy,Moss,,,,,Main Street Clinic,,,\n"
)


@pytest.fixture
def setup(db, users, location, other_location, service_line, make_partner):
    dana = make_partner(name="Dana Whitfield, MD", npi="1234567893")
    return {"dana": dana, "by": users["coordinator"]}


def start(write, setup, content, *, mode=ImportMode.ALL_OR_NOTHING, name="r.csv", **choices):
    path = write(name, content)
    job, header = job_start(path=path, file_name=name, kind="referrals", source="Old EHR",
                            by=setup["by"])
    job_set_choices(job=job, mode=mode, decisions={}, **choices)
    return job


def test_the_header_is_mapped_without_help(write, setup):
    job = start(write, setup, HEADER + GOOD)
    assert job.mapping == {
        "received": "Received", "first_name": "Patient First", "last_name": "Patient Last",
        "birth_date": "DOB", "mrn": "MRN", "source_name": "Referred By",
        "source_npi": "Referring NPI", "location": "Clinic", "service_line": "Service",
        "priority": "Priority", "status": "Status", "row_id": "Referral ID"}


def test_a_clean_file_imports_every_row_with_its_history(write, setup):
    job = start(write, setup, HEADER + GOOD)
    job = job_dry_run(job=job)
    assert job.status == JobStatus.CHECKED
    assert (job.rows_total, job.rows_ok, job.rows_error) == (4, 4, 0)
    assert Referral.objects.count() == 0  # the dry run writes nothing
    job = job_commit(job=job)
    assert job.status == JobStatus.DONE, job.message
    assert job.rows_ok == 4
    refs = {i.value: i.referral for i in ReferralIdentifier.objects.select_related("referral")}
    assert set(refs) == {"R1", "R2", "R3", "R4"}
    assert all(i.system == "import:Old EHR" for i in ReferralIdentifier.objects.all())
    r1, r2, r3, r4 = refs["R1"], refs["R2"], refs["R3"], refs["R4"]
    assert r1.source_partner == setup["dana"] and r2.source_partner == setup["dana"]
    assert r1.channel == "import" and r1.service_line.name == "Physical therapy"
    assert r2.received_at.date() == date(2024, 1, 1)  # Excel serial 45292
    assert r2.location.name == "Westside Clinic" and r2.priority == "urgent"
    assert r2.status == "seen" and r2.seen_at == r2.received_at
    assert r2.contacted_at == r2.received_at and r2.closed_at is None
    assert r3.status == "closed_won" and r3.closed_at is not None
    assert r3.patient_id == r1.patient_id  # same MRN: one patient
    assert r4.source_status == "unresolved"  # no source given: ask again
    assert r1.received_month == 202401
    assert Patient.objects.count() == 3
    ada = Patient.objects.get(mrn="M-1")
    assert ada.birth_date == date(1980, 3, 4) and ada.last_name_key == "okafor"
    assert ReferralEvent.objects.filter(note__startswith="Imported from r.csv").count() == 4
    assert set(ReferralEvent.objects.values_list("to_status", flat=True)) == {
        "received", "seen", "closed_won"}
    audit = AuditEvent.objects.filter(what__startswith=f"import #{job.pk}")
    assert audit.filter(action=AuditAction.CREATE).count() == 3
    assert all(a.username == "cora" for a in audit)
    # The rollups counted the bulk insert exactly (SQLite: one grouped upsert per batch).
    assert rollup_check() == []
    assert sum(MonthlyReferralStat.objects.filter(month=202401)
               .values_list("received", flat=True)) == 4


def test_reimporting_the_same_file_adds_nothing(write, setup):
    job_commit(job=start(write, setup, HEADER + GOOD))
    again = job_commit(job=start(write, setup, HEADER + GOOD, name="again.csv"))
    assert again.status == JobStatus.DONE
    assert (again.rows_ok, again.rows_duplicate) == (0, 4)
    assert "4 imported before" in again.message
    assert Referral.objects.count() == 4


def test_without_a_row_id_the_row_hash_keeps_it_idempotent(write, setup):
    content = (HEADER + GOOD).replace("Referral ID,", "Ref,")
    job_commit(job=start(write, setup, content))
    job_commit(job=start(write, setup, content, name="again.csv"))
    assert Referral.objects.count() == 4
    assert all(v.startswith("h:") for v in ReferralIdentifier.objects.values_list("value",
                                                                                  flat=True))


BAD = (
    "R5,2024-02-30,Eve,Stone,,,,,Main Street Clinic,,received,\n"
    "R6,2024-02-01,Fay,Holt,,,1234567890,,Main Street Clinic,,done,asap\n"
    "R7,2024-02-02,,Gray,,,,,Nowhere Clinic,Yoga,,\n"
    "R8,2024-02-03,Hal,Ng,,,,Nobody Known,Main Street Clinic,,,\n"
)


def test_the_dry_run_names_every_problem_by_line_and_field(write, setup):
    job = job_dry_run(job=start(write, setup, HEADER + GOOD + BAD))
    assert (job.rows_total, job.rows_ok, job.rows_error) == (8, 4, 4)
    found = {(p["line"], p["field"]) for p in job.report["problems"]}
    assert found == {
        (6, "Received date"), (7, "Referring partner NPI"), (7, "Status"), (7, "Priority"),
        (8, "Location"), (8, "Service line"), (9, "Referring partner name")}
    by = {(p["line"], p["field"]): p["message"] for p in job.report["problems"]}
    assert "allowed: received, contacted, scheduled, seen, closed_won, closed_lost" in \
        by[(7, "Status")]
    assert "check digit" in by[(7, "Referring partner NPI")]
    assert "Main Street Clinic, Westside Clinic" in by[(8, "Location")]
    assert "Nobody Known" in by[(9, "Referring partner name")]
    csv_text = open(job.errors_path).read()
    assert csv_text.splitlines()[0] == "line,column,field,value,problem"
    assert "6,Received,Received date,2024-02-30," in csv_text


def test_all_or_nothing_writes_nothing_when_one_row_is_bad(write, setup):
    job = start(write, setup, HEADER + GOOD + BAD.splitlines(keepends=True)[0])
    job = job_commit(job=job)
    assert job.status == JobStatus.FAILED
    assert "Nothing imported" in job.message
    assert Referral.objects.count() == Patient.objects.count() == 0
    assert ReferralEvent.objects.count() == AuditEvent.objects.count() == 0
    assert not MonthlyReferralStat.objects.filter(received__gt=0).exists()
    assert rollup_triggers_installed()


def test_good_rows_mode_imports_the_rest_and_lists_the_bad(write, setup):
    job = job_commit(job=start(write, setup, HEADER + GOOD + BAD, mode=ImportMode.GOOD_ROWS))
    assert job.status == JobStatus.DONE
    assert (job.rows_ok, job.rows_error) == (4, 4)
    assert Referral.objects.count() == 4
    assert "4 with problems (skipped)" in job.message


def test_a_new_patient_without_a_first_name_is_an_error_on_its_row(write, setup):
    job = job_dry_run(job=start(write, setup, HEADER + "R9,2024-01-05,,Okafor,,,,,Main Street"
                                                       " Clinic,,,\n"))
    assert [(p["line"], p["field"]) for p in job.report["problems"]] == [
        (2, "Patient first name")]


def test_existing_patients_are_matched_by_name_and_birth_date(write, setup, make_patient):
    ada = make_patient(first_name="Ada", last_name="Okafor", birth_date=date(1980, 3, 4))
    job_commit(job=start(write, setup, HEADER + GOOD.splitlines(keepends=True)[0]
                         .replace("M-1", "")))
    assert Referral.objects.get().patient == ada
    assert AuditEvent.objects.get(patient_id=ada.pk).action == AuditAction.UPDATE


def test_unknown_sources_can_be_created(write, setup):
    job = job_commit(job=start(write, setup, HEADER + BAD.splitlines(keepends=True)[3],
                               create_sources=True))
    assert job.status == JobStatus.DONE, job.message
    assert Referral.objects.get().source_partner.name == "Nobody Known"


def test_fuzzy_source_names_find_the_partner(write, setup):
    row = "R1,2024-01-05,Ada,Okafor,,,,Dana Whitfeld MD,Main Street Clinic,,,\n"
    job_commit(job=start(write, setup, HEADER + row))
    assert Referral.objects.get().source_partner == setup["dana"]


def test_patient_ids_of_the_source_system_are_kept(write, setup):
    content = ("Received,First name,Last name,Their patient id,Location\n"
               "2024-01-05,Ada,Okafor,P-77,Main Street Clinic\n"
               "2024-01-06,Ada,Okafor,P-77,Main Street Clinic\n")
    job = job_commit(job=start(write, setup, content))
    assert job.mapping["patient_external_id"] == "Their patient id"
    assert Patient.objects.count() == 1
    assert PatientIdentifier.objects.get().value == "P-77"


def test_day_first_columns_are_read_day_first(write, setup):
    content = ("Received,First name,Last name,Location\n"
               "03/04/2024,Ada,Okafor,Main Street Clinic\n"
               "25/04/2024,Bea,Lind,Main Street Clinic\n")
    job_commit(job=start(write, setup, content))
    assert sorted(r.received_at.date() for r in Referral.objects.all()) == [
        date(2024, 4, 3), date(2024, 4, 25)]


@pytest.mark.parametrize("mode", [ImportMode.ALL_OR_NOTHING, ImportMode.GOOD_ROWS])
def test_small_batches_match_patients_across_batches_and_keep_the_rollups_exact(
        write, setup, monkeypatch, mode):
    # Batches of 2 rows: R1 and R3 (same MRN) land in different batches, and so do R5
    # and R6 (same name and birth date, no MRN); the rollups are added per import (all
    # or nothing) or per batch (good rows) with their triggers dropped meanwhile.
    monkeypatch.setattr("refnet.imports.referral_rows.BATCH", 2)
    more = ("R5,2024-02-01,Eli,Stone,5/6/1970,,,,Westside Clinic,,contacted,\n"
            "R6,2024-02-02,Eli,Stone,5/6/1970,,,,Westside Clinic,,received,\n")
    job = job_commit(job=start(write, setup, HEADER + GOOD + more, mode=mode))
    assert job.status == JobStatus.DONE, job.message
    assert Referral.objects.count() == 6
    assert Patient.objects.count() == 4  # Ada, Bea, Cy, Eli
    ids = {i.value: i.referral.patient_id
           for i in ReferralIdentifier.objects.select_related("referral")}
    assert ids["R1"] == ids["R3"] and ids["R5"] == ids["R6"]
    audit = AuditEvent.objects.filter(what__startswith=f"import #{job.pk}")
    assert audit.count() == 4  # one per patient per import, however many batches
    assert audit.filter(action=AuditAction.CREATE).count() == 4
    assert rollup_check() == []
    assert rollup_triggers_installed()
    assert sum(MonthlyReferralStat.objects.filter(month=202402)
               .values_list("contacted", flat=True)) == 1
    # Importing it again adds nothing (keys checked against the database now).
    again = job_commit(job=start(write, setup, HEADER + GOOD + more, mode=mode))
    assert again.status == JobStatus.DONE and Referral.objects.count() == 6
    assert again.report["counts"]["already"] == 6
    assert rollup_check() == []


@pytest.mark.parametrize("mode", [ImportMode.ALL_OR_NOTHING, ImportMode.GOOD_ROWS])
def test_rollups_count_existing_patients_zip_codes_and_partners_dims(
        write, setup, monkeypatch, make_patient, make_partner, make_referral, users, mode):
    """The import's own rollup counting (SQLite) puts each referral under its patient's
    ZIP (existing patients have one, new ones none) and its source's kind, category and
    owner, and adds to rows that were there before: the tables equal a fresh aggregate."""
    from refnet.reports.models import MonthlyPartnerStat, MonthlyZipStat, SpeedHistogram

    monkeypatch.setattr("refnet.imports.referral_rows.BATCH", 3)
    gym = make_partner(name="Core Gym", kind="local_business", category="gym_trainer",
                       owner=users["outreach"])
    ada = make_patient(first_name="Ada", last_name="Okafor", mrn="M-1", zip_code="80203-1234")
    eli = make_patient(first_name="Eli", last_name="Stone", birth_date=date(1970, 5, 6),
                       zip_code="10001")
    make_referral(patient=ada, source_partner=gym)  # rows there before the import
    rows = ("R5,2024-01-20,Eli,Stone,5/6/1970,,,Core Gym,Westside Clinic,,contacted,\n"
            "R6,2024-02-02,Eli,Stone,5/6/1970,,,Core Gym,Westside Clinic,,closed_lost,\n"
            "R7,2024-02-03,Fay,Gray,,,,Core Gym,Main Street Clinic,Physical therapy,"
            "scheduled,\n")
    job = job_commit(job=start(write, setup, HEADER + GOOD + rows, mode=mode))
    assert job.status == JobStatus.DONE, job.message
    assert rollup_check() == []
    assert rollup_triggers_installed()
    zips: dict[str, int] = {}
    for z in MonthlyZipStat.objects.filter(month__lt=202403):
        zips[z.zip5] = zips.get(z.zip5, 0) + z.received
    assert zips == {"80203": 2, "10001": 2, "": 3}  # Ada x2 (R1, R3), Eli x2; Bea, Cy, Fay
    gym_rows = MonthlyPartnerStat.objects.filter(partner_id=gym.pk, month__lt=202403)
    assert sum(r.received for r in gym_rows) == 3 and sum(r.lost for r in gym_rows) == 1
    assert SpeedHistogram.objects.filter(partner_category="gym_trainer",
                                         owner_id=users["outreach"].pk, measure="c",
                                         bucket=0).exists()
    assert eli.referrals.count() == 2 and ada.referrals.count() == 3


@pytest.mark.parametrize("mode", [ImportMode.ALL_OR_NOTHING, ImportMode.GOOD_ROWS])
def test_the_connection_gets_its_sqlite_settings_back(write, setup, mode):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings")

    def settings() -> tuple:
        with connection.cursor() as cursor:
            return tuple(cursor.execute(f"PRAGMA {name}").fetchone()[0]
                         for name in ("cache_size", "temp_store", "synchronous"))

    before = settings()
    job = job_commit(job=start(write, setup, HEADER + GOOD, mode=mode))
    assert job.status == JobStatus.DONE, job.message
    assert settings() == before


def _indexes() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("bad", [False, True])
def test_a_large_file_sets_the_indexes_aside_and_matches_patients_the_same(
        write, setup, monkeypatch, make_patient, make_referral, bad):
    """SQLite, all or nothing, a file large next to the tables: the secondary indexes are
    dropped before the first insert and rebuilt at the end (or put back by the rollback);
    patients that were there before are still found by MRN and by name + birth date,
    across batches."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL keeps its indexes")
    monkeypatch.setattr("refnet.imports.referral_rows.BATCH", 2)
    monkeypatch.setattr("refnet.imports.referral_rows.REBUILD_MIN_ROWS", 0)
    old_ada = make_patient(first_name="Ada", last_name="Okafor", mrn="M-1")
    eli = make_patient(first_name="Eli", last_name="Stone", birth_date=date(1970, 5, 6))
    make_referral(patient=eli)
    before = _indexes()
    more = ("R5,2024-02-01,Eli,Stone,5/6/1970,,,,Westside Clinic,,contacted,\n"
            "R6,2024-02-02,Eli,Stone,5/6/1970,,,,Westside Clinic,,received,\n")
    broken = "R7,2024-02-03,Fay,Gray,,,,Nobody Known,Main Street Clinic,,,\n" if bad else ""
    job = job_commit(job=start(write, setup, HEADER + GOOD + more + broken))
    assert _indexes() == before
    if bad:
        assert job.status == JobStatus.FAILED and Referral.objects.count() == 1
        return
    assert job.status == JobStatus.DONE, job.message
    assert any("indexes rebuilt" in note for note in job.report["notes"])
    ids = {i.value: i.referral.patient_id
           for i in ReferralIdentifier.objects.select_related("referral")}
    assert ids["R1"] == ids["R3"] == old_ada.pk
    assert ids["R5"] == ids["R6"] == eli.pk
    assert Patient.objects.count() == 4  # Ada and Eli from before; Bea and Cy new
    assert rollup_check() == []
    assert rollup_triggers_installed()


def _outcome(job):
    rows = sorted(
        (i.value, i.referral.patient.last_name, i.referral.patient.birth_date,
         i.referral.received_at, i.referral.status, i.referral.source_partner_id,
         i.referral.location_id, i.referral.priority)
        for i in ReferralIdentifier.objects.select_related("referral__patient"))
    return (job.status, job.rows_total, job.rows_ok, job.rows_error,
            [(p["line"], p["field"], p["message"]) for p in job.report["problems"]], rows,
            Patient.objects.count())


@pytest.mark.parametrize("mode", [ImportMode.ALL_OR_NOTHING, ImportMode.GOOD_ROWS])
def test_the_reader_process_gives_the_same_import_as_one_process(
        write, setup, monkeypatch, mode):
    """A large CSV is read and checked in a second process (refnet.imports.referral_reader);
    forced here on a small file: the same problems on the same lines, the same rows."""
    from django.db import transaction

    monkeypatch.setattr("refnet.imports.referral_rows.BATCH", 2)
    more = ("R5,2024-02-01,Eli,Stone,5/6/1970,,,,Westside Clinic,,contacted,\n"
            "R6,2024-02-02,Eli,Stone,5/6/1970,,,,Westside Clinic,,received,\n")
    content = HEADER + GOOD + more + BAD
    outcomes = []
    for minimum in (None, 0):
        monkeypatch.setattr("refnet.imports.referral_rows.PIPELINE_MIN_BYTES", minimum)
        sid = transaction.savepoint()
        job = job_commit(job=start(write, setup, content, mode=mode, name=f"r{minimum}.csv"))
        outcomes.append(_outcome(job))
        assert rollup_check() == []
        transaction.savepoint_rollback(sid)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][4]  # the bad rows were reported


@pytest.mark.parametrize("bad", [False, True])
def test_the_garbage_collector_is_back_on_after_an_import(write, setup, bad):
    """The import pauses Python's cyclic GC; a web process must get it back, whether the
    import succeeds or fails."""
    import gc

    assert gc.isenabled()
    content = HEADER + GOOD + (BAD.splitlines(keepends=True)[0] if bad else "")
    job = job_commit(job=start(write, setup, content))
    assert job.status == (JobStatus.FAILED if bad else JobStatus.DONE)
    assert gc.isenabled()
