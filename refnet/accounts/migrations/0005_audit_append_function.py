"""PostgreSQL: refnet_audit_append(), which appends one view's audit rows (the same but for
the patient) in one statement: it locks the chain head, computes each row's hash exactly as
accounts.chain.row_hash does, inserts the rows and moves the head.

From Python that was five round trips (BEGIN, lock the head, INSERT, move the head,
COMMIT) on most requests; now it is one, and the hashing is done where the rows are. The
encoding is accounts.chain's: a compact JSON array [prev_hash, at, user_id, username,
patient_id, action, what, address, path]. PostgreSQL's to_json(text) escapes a string as
Python's json does with ensure_ascii=False (\\" \\\\ \\b \\f \\n \\r \\t, other control characters
as \\u00xx, everything else as is); `at` and the address come as the text Python would
hash (accounts.chain.canonical_at / canonical_address). A test compares the two on
hostile strings (tests/test_audit_chain.py). With no head row yet (a fresh or flushed
database) it returns NULL and writes nothing: the caller then takes the Python path,
which makes the head."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION refnet_audit_append(
    p_at timestamptz, p_at_text text, p_user_id bigint, p_username text, p_action text,
    p_what text, p_address text, p_path text, p_patients bigint[]
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    prev text;
    before_patient text;
    after_patient text;
    prevs text[] := '{}';
    hashes text[] := '{}';
    pid bigint;
    last bigint;
BEGIN
    IF coalesce(cardinality(p_patients), 0) = 0 THEN
        RETURN 0;
    END IF;
    SELECT last_hash INTO prev FROM accounts_auditchainhead WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    before_patient := ',' || to_json(p_at_text)::text || ',' || coalesce(p_user_id::text, 'null')
        || ',' || to_json(p_username)::text || ',';
    after_patient := ',' || to_json(p_action)::text || ',' || to_json(p_what)::text || ','
        || coalesce(to_json(p_address)::text, 'null') || ',' || to_json(p_path)::text || ']';
    FOREACH pid IN ARRAY p_patients LOOP
        prevs := prevs || prev;
        prev := encode(sha256(convert_to(
            '[' || to_json(prev)::text || before_patient || coalesce(pid::text, 'null')
            || after_patient, 'UTF8')), 'hex');
        hashes := hashes || prev;
    END LOOP;
    WITH added AS (
        INSERT INTO accounts_auditevent
            (at, user_id, username, action, what, address, path, patient_id, prev_hash, hash)
        SELECT p_at, p_user_id, p_username, p_action, p_what, p_address::inet, p_path,
               u.patient_id, u.prev_hash, u.hash
        FROM unnest(p_patients, prevs, hashes) WITH ORDINALITY AS u(patient_id, prev_hash, hash, n)
        ORDER BY u.n
        RETURNING id
    )
    SELECT max(id) INTO last FROM added;
    UPDATE accounts_auditchainhead
    SET last_id = last, last_hash = prev, count = count + cardinality(p_patients)
    WHERE id = 1;
    RETURN cardinality(p_patients);
END $$
"""
DROP = ("DROP FUNCTION IF EXISTS refnet_audit_append(timestamptz, text, bigint, text, text, "
        "text, text, text, bigint[])")


def up(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def down(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit_append_only")]

    operations = [migrations.RunPython(up, down)]
