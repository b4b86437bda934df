"""The audit log is a hash chain: every row is chained to the one before, the database
refuses UPDATE and DELETE, and `refnet audit verify` finds an edited, deleted or inserted
row and names it."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refnet.accounts.audit import audit_append_values, audit_patients
from refnet.accounts.chain import GENESIS, row_hash
from refnet.accounts.models import AuditAction, AuditChainHead, AuditEvent
from refnet.accounts.triggers import audit_triggers_lifted

TABLE = "accounts_auditevent"


def _append(n: int, start: int = 1) -> list[int]:
    audit_append_values([(None, None, "cora", start + i, AuditAction.VIEW, f"patient:{start + i}",
                          "10.0.0.7", "/referrals/") for i in range(n)])
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


def _verify() -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("audit", "verify", stdout=out)
    except CommandError as failed:
        return failed.returncode, out.getvalue() + str(failed)
    return 0, out.getvalue()


def _sql(sql: str, params=()) -> None:
    with audit_triggers_lifted(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_rows_are_chained_from_the_genesis_hash_and_the_head_follows():
    ids = _append(3)
    rows = list(AuditEvent.objects.order_by("id"))
    assert rows[0].prev_hash == GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    first = rows[0]
    assert first.hash == row_hash(prev_hash=GENESIS, at=first.at, user_id=None,
                                  username="cora", patient_id=1, action="view",
                                  what="patient:1", address="10.0.0.7", path="/referrals/")
    head = AuditChainHead.objects.get()
    assert (head.last_id, head.last_hash, head.count) == (ids[-1], rows[-1].hash, 3)
    assert _verify()[0] == 0


@pytest.mark.django_db
def test_request_rows_are_chained_too(users):
    request = RequestFactory().get("/referrals/7/", REMOTE_ADDR="192.0.2.9")
    request.user = users["coordinator"]
    audit_patients(request=request, patient_ids=[7, 8, 7], action=AuditAction.VIEW,
                   what="referral:7")
    audit_patients(request=request, patient_ids=[], action=AuditAction.QUERY, what="search")
    assert AuditEvent.objects.count() == 3
    code, out = _verify()
    assert code == 0 and "intact: 3 rows" in out


@pytest.mark.django_db
def test_the_database_refuses_update_and_delete():
    _append(2)
    for statement in (f"UPDATE {TABLE} SET username = 'mallory'", f"DELETE FROM {TABLE}"):
        with pytest.raises((DatabaseError, IntegrityError)) as refused, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
        assert "append-only" in str(refused.value)
    with pytest.raises((DatabaseError, IntegrityError)), transaction.atomic():
        AuditEvent.objects.all().delete()
    with pytest.raises((DatabaseError, IntegrityError)), transaction.atomic():
        AuditEvent.objects.update(what="nothing")
    assert AuditEvent.objects.filter(username="cora").count() == 2


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_truncate():
    _append(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks
            cursor.execute(f"TRUNCATE {TABLE}")


@pytest.mark.django_db
def test_verify_names_an_edited_row():
    ids = _append(5)
    _sql(f"UPDATE {TABLE} SET patient_id = 99 WHERE id = %s", [ids[2]])
    code, out = _verify()
    assert code == 1
    assert f"row {ids[2]}: its content does not match its hash (the row was edited)" in out
    assert f"the first is at row {ids[2]}" in out


@pytest.mark.django_db
def test_verify_names_the_row_after_a_deleted_one():
    ids = _append(5)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [ids[1]])
    code, out = _verify()
    assert code == 1
    assert f"row {ids[2]}: does not follow row {ids[0]}" in out


@pytest.mark.django_db
def test_verify_finds_an_inserted_row_even_with_a_plausible_hash():
    ids = _append(3)
    # A forger who knows the scheme links a new row to row 1 and recomputes its hash...
    first = AuditEvent.objects.get(pk=ids[0])
    forged = row_hash(prev_hash=first.hash, at=first.at, user_id=None, username="cora",
                      patient_id=42, action="view", what="patient:42", address=None, path="")
    _sql(f"INSERT INTO {TABLE} (id, at, username, patient_id, action, what, path, prev_hash, "
         f"hash) SELECT %s, at, 'cora', 42, 'view', 'patient:42', '', %s, %s FROM {TABLE} "
         f"WHERE id = %s", [ids[-1] + 10, first.hash, forged, ids[0]])
    # ...but cannot append it at the end without breaking the link from row 3.
    code, out = _verify()
    assert code == 1
    assert f"row {ids[-1] + 10}: does not follow row {ids[-1]}" in out


@pytest.mark.django_db
def test_verify_finds_rows_cut_off_the_end():
    ids = _append(4)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [ids[-1]])
    code, out = _verify()
    assert code == 1
    assert f"the chain head recorded row {ids[-1]} with 4 rows" in out


@pytest.mark.django_db
def test_appends_continue_the_chain_after_a_flushed_head():
    _append(2)
    AuditChainHead.objects.all().delete()
    _append(2, start=10)
    assert AuditChainHead.objects.get().count == 4
    assert _verify()[0] == 0


@pytest.mark.django_db
def test_a_user_with_an_audit_trail_cannot_be_deleted(users):
    from django.db.models import ProtectedError

    request = RequestFactory().get("/")
    request.user = users["coordinator"]
    audit_patients(request=request, patient_ids=[1], action=AuditAction.VIEW, what="x")
    with pytest.raises(ProtectedError):
        users["coordinator"].delete()


@pytest.mark.django_db
def test_a_bulk_append_chains_every_row_and_moves_the_head_to_its_last():
    _append(3)
    ids = _append(450, start=100)  # an import batch: the bulk path on both databases
    head = AuditChainHead.objects.get()
    assert (head.last_id, head.count) == (ids[-1], 453)
    assert _verify()[0] == 0


# Strings as a hostile or careless client could send them (PostgreSQL text holds no NUL).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=40)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=_TEXT, what=_TEXT, path=_TEXT,
       address=st.sampled_from([None, "192.0.2.9", "2001:db8::7", "::ffff:192.0.2.1"]),
       patients=st.lists(st.one_of(st.none(), st.integers(1, 2**62)), min_size=1, max_size=5))
def test_one_views_rows_hash_as_the_python_chain_says(username, what, path, address, patients):
    """On PostgreSQL these rows (the same but for the patient) are chained by the database's
    refnet_audit_append(); every stored hash must be the one accounts.chain computes."""
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    audit_append_values([(None, None, username, pid, AuditAction.QUERY, what, address, path)
                         for pid in patients])
    rows = list(AuditEvent.objects.filter(id__gt=before).order_by("id"))
    assert [r.patient_id for r in rows] == patients
    for row in rows:
        assert row.hash == row_hash(prev_hash=row.prev_hash, at=row.at, user_id=row.user_id,
                                    username=row.username, patient_id=row.patient_id,
                                    action=row.action, what=row.what, address=row.address,
                                    path=row.path)
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    head = AuditChainHead.objects.get()
    assert (head.last_id, head.last_hash) == (rows[-1].id, rows[-1].hash)


@pytest.mark.django_db
def test_one_views_rows_make_the_head_when_it_is_missing(users):
    """A flushed database has no chain head: the first view's rows still chain from the
    genesis hash, and the head is made."""
    AuditChainHead.objects.all().delete()
    request = RequestFactory().get("/referrals/", REMOTE_ADDR="192.0.2.9")
    request.user = users["coordinator"]
    audit_patients(request=request, patient_ids=[3, 4], action=AuditAction.QUERY,
                   what="referrals:list")
    rows = list(AuditEvent.objects.order_by("id"))
    assert [r.patient_id for r in rows] == [3, 4]
    assert rows[0].prev_hash == GENESIS
    assert AuditChainHead.objects.get().last_id == rows[-1].id
    assert _verify()[0] == 0
