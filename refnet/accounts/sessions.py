"""The session store (settings.SESSION_ENGINE): Django's database sessions, with the one
read every request makes written as a plain statement.

Same table, same rows, same rule (a session past its expire_date is not read, and its key
is dropped so that a new one is made), same signed and encoded data: only the ORM's
construction of `Session.objects.get(session_key=..., expire_date__gt=now)`, which cost
more CPU than the database's work, is left out; on PostgreSQL the statement is prepared
(refnet.prepared). Writes are Django's.

Sessions signed in before accounts.backends.UserBackend replaced Django's ModelBackend name
ModelBackend as theirs; Django would sign them out (it only trusts a backend still listed
in AUTHENTICATION_BACKENDS), so they are read as UserBackend's, which is ModelBackend with
a cheaper read of the user.
"""

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone

from refnet.prepared import prepared_cursor

_RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "refnet.accounts.backends.UserBackend",
}


class SessionStore(DatabaseSessionStore):
    def load(self):
        data = super().load()
        renamed = _RENAMED_BACKENDS.get(data.get(BACKEND_SESSION_KEY))
        if renamed is not None:
            data[BACKEND_SESSION_KEY] = renamed
        return data

    def _get_session_from_db(self):
        model = self.model
        connection = connections[router.db_for_read(model)]
        q = connection.ops.quote_name
        with prepared_cursor(connection) as cursor:
            cursor.execute(
                f"SELECT {q('session_data')} FROM {q(model._meta.db_table)} "
                f"WHERE {q('session_key')} = %s AND {q('expire_date')} > %s",
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return model(session_key=self.session_key, session_data=row[0])
