"""The full-text index behind "Who can we thank?" (see partners/search.py).

SQLite: an FTS5 table over partners_searchentry (external content) kept in step by
triggers. PostgreSQL: a GIN index on the weighted tsvector expression (0004 replaced it
with a stored column, which is much faster to rank).
"""

from django.db import migrations

SQLITE_UP = [
    """CREATE VIRTUAL TABLE partners_searchfts USING fts5(
        words, sounds, content='partners_searchentry', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', prefix='2 3')""",
    """CREATE TRIGGER partners_searchentry_ai AFTER INSERT ON partners_searchentry BEGIN
        INSERT INTO partners_searchfts(rowid, words, sounds)
        VALUES (new.id, new.words, new.sounds); END""",
    """CREATE TRIGGER partners_searchentry_ad AFTER DELETE ON partners_searchentry BEGIN
        INSERT INTO partners_searchfts(partners_searchfts, rowid, words, sounds)
        VALUES ('delete', old.id, old.words, old.sounds); END""",
    """CREATE TRIGGER partners_searchentry_au AFTER UPDATE ON partners_searchentry BEGIN
        INSERT INTO partners_searchfts(partners_searchfts, rowid, words, sounds)
        VALUES ('delete', old.id, old.words, old.sounds);
        INSERT INTO partners_searchfts(rowid, words, sounds)
        VALUES (new.id, new.words, new.sounds); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS partners_searchentry_ai",
    "DROP TRIGGER IF EXISTS partners_searchentry_ad",
    "DROP TRIGGER IF EXISTS partners_searchentry_au",
    "DROP TABLE IF EXISTS partners_searchfts",
]
PG_UP = [
    """CREATE INDEX partners_searchentry_document ON partners_searchentry USING gin (
        (setweight(to_tsvector('simple'::regconfig, words), 'A') ||
         setweight(to_tsvector('simple'::regconfig, sounds), 'B')))""",
]
PG_DOWN = ["DROP INDEX IF EXISTS partners_searchentry_document"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("partners", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": PG_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}),
        )
    ]
