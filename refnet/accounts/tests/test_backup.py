"""`refnet backup` / `refnet restore` round trip: every table (Django's models, the
trigger-maintained report rollups, the search index, the audit log) comes back with the same
rows, on SQLite (online backup API) and PostgreSQL (pg_dump / pg_restore)."""

from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory

from refnet.accounts.audit import audit_patients
from refnet.accounts.backup import (
    pg_restore,
    sqlite_restore,
    table_digests,
)
from refnet.accounts.models import AuditAction
from refnet.partners.models import Partner
from refnet.referrals.models import ReferralStatus
from refnet.referrals.services import referral_transition


def _practice_data(users, make_referral, make_partner, make_patient):
    """A small practice: partners, patients, referrals moved along (rollups and history
    rows follow), follow-ups the rules made, and audit rows."""
    clinic = make_partner("Cherry Creek Orthopedics", kind="clinician")
    gym = make_partner("Summit Gym", kind="local_business", category="gym_trainer")
    request = RequestFactory().get("/referrals/", REMOTE_ADDR="10.9.8.7")
    request.user = users["coordinator"]
    for n in range(6):
        patient = make_patient(f"Pat{n}", "Synthetic")
        referral = make_referral(patient=patient, source_partner=clinic if n % 2 else gym)
        for status in (ReferralStatus.CONTACTED, ReferralStatus.SCHEDULED)[: n % 3]:
            referral = referral_transition(referral=referral, to_status=status,
                                           by=users["coordinator"])
        audit_patients(request=request, patient_ids=[patient.pk], action=AuditAction.VIEW,
                       what=f"referral:{referral.pk}")


def _check_same(before: dict, after: dict) -> None:
    models = {m._meta.db_table for m in apps.get_models(include_auto_created=True)
              if m._meta.managed and not m._meta.proxy}
    assert models <= set(before)  # every model's table was compared
    for rollup in ("reports_monthlyreferralstat", "reports_monthlypartnerstat",
                   "reports_speedhistogram", "accounts_auditevent", "referrals_referral"):
        assert before[rollup][0] > 0, rollup  # the comparison is not of empty tables
    differ = {t: (before.get(t), after.get(t)) for t in set(before) | set(after)
              if before.get(t) != after.get(t)}
    assert differ == {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_round_trip_restores_every_table(users, make_referral, make_partner,
                                                make_patient, tmp_path, settings):
    _practice_data(users, make_referral, make_partner, make_patient)
    settings.REFNET_BACKUP_DIR = tmp_path / "backups"
    out = StringIO()
    call_command("backup", stdout=out)
    written = Path(out.getvalue().strip())
    assert written.parent == tmp_path / "backups" and written.name.startswith("refnet-")
    fresh = tmp_path / "fresh.sqlite3"
    sqlite_restore(written, fresh)
    _check_same(table_digests("sqlite", connection.settings_dict),
                table_digests("sqlite", {"NAME": str(fresh)}))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_round_trip_restores_every_table(users, make_referral, make_partner,
                                                    make_patient, tmp_path):
    _practice_data(users, make_referral, make_partner, make_patient)
    file = tmp_path / "refnet.pgdump"
    call_command("backup", output=str(file), stdout=StringIO())
    fresh = {**connection.settings_dict, "NAME": connection.settings_dict["NAME"] + "_restore"}
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{fresh["NAME"]}"')
        cursor.execute(f'CREATE DATABASE "{fresh["NAME"]}"')
    try:
        pg_restore(file, fresh)
        _check_same(table_digests("postgresql", connection.settings_dict),
                    table_digests("postgresql", fresh))
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{fresh["NAME"]}"')


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_with_data_unless_forced(make_partner, tmp_path):
    make_partner("Before The Backup")
    file = tmp_path / "snapshot.bak"
    call_command("backup", output=str(file), stdout=StringIO())
    make_partner("After The Backup")
    with pytest.raises(CommandError, match="already holds data"):
        call_command("restore", str(file), stdout=StringIO())
    assert Partner.objects.count() == 2
    call_command("restore", str(file), force=True, stdout=StringIO())
    assert list(Partner.objects.values_list("name", flat=True)) == ["Before The Backup"]


@pytest.mark.django_db
def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database")
    with pytest.raises(CommandError):
        call_command("restore", str(bogus), force=True, stdout=StringIO())
    with pytest.raises(CommandError, match="No such backup file"):
        call_command("restore", str(tmp_path / "missing"), stdout=StringIO())
