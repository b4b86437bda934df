"""PostgreSQL: store the search document instead of computing it per matching row.

With the tsvector only in an expression index, every row the index matched had its
to_tsvector computed again to recheck and rank it: tens of milliseconds for a common
name at 100,000 partners (docs/benchmarks.md). A generated column is computed once, on
write. SQLite's FTS5 table already stores its tokens; nothing changes there.
"""

from django.db import migrations

PG_UP = [
    """ALTER TABLE partners_searchentry ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, words), 'A') ||
        setweight(to_tsvector('simple'::regconfig, sounds), 'B')) STORED""",
    "DROP INDEX IF EXISTS partners_searchentry_document",
    "CREATE INDEX partners_searchentry_document ON partners_searchentry USING gin (document)",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS partners_searchentry_document",
    "ALTER TABLE partners_searchentry DROP COLUMN IF EXISTS document",
    """CREATE INDEX partners_searchentry_document ON partners_searchentry USING gin (
        (setweight(to_tsvector('simple'::regconfig, words), 'A') ||
         setweight(to_tsvector('simple'::regconfig, sounds), 'B')))""",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("partners", "0003_search_index")]

    operations = [migrations.RunPython(_run(PG_UP), _run(PG_DOWN))]
