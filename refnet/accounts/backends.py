"""The authentication backend: Django's ModelBackend, with the read every request makes
(get_user, the user of the session) written as one plain statement.

The same row, the same checks (an inactive user is nobody, as ModelBackend says), the same
User instance: only the ORM's construction of `User.objects.get(pk=...)`, which cost more
CPU than the database's work (~0.34 -> ~0.15 ms a request), is left out. Each column's
value goes through the converters the ORM would apply (on SQLite, datetimes are stored
naive in UTC and made aware by them)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models.expressions import Col

from refnet.prepared import prepared_cursor

_READS: dict[str, tuple] = {}  # database alias -> (sql, attnames, columns and converters)


def _read(alias: str, model) -> tuple:
    if alias not in _READS:
        connection = connections[alias]
        q = connection.ops.quote_name
        fields = model._meta.concrete_fields
        columns = []
        for field in fields:
            col = Col(model._meta.db_table, field)
            converters = connection.ops.get_db_converters(col) + col.get_db_converters(
                connection)
            columns.append((col, converters))
        sql = (f"SELECT {', '.join(q(f.column) for f in fields)} "
               f"FROM {q(model._meta.db_table)} WHERE {q(model._meta.pk.column)} = %s")
        _READS[alias] = (sql, [f.attname for f in fields], columns)
    return _READS[alias]


def user_by_pk(pk) -> object | None:
    """The user with this primary key, as User.objects.get(pk=pk) would return it, or None."""
    model = get_user_model()
    alias = router.db_for_read(model)
    connection = connections[alias]
    sql, attnames, columns = _read(alias, model)
    try:
        pk = model._meta.pk.to_python(pk)
    except (TypeError, ValueError, ValidationError):  # not an id: nobody
        return None
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (col, converters) in zip(row, columns, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        values.append(value)
    return model.from_db(alias, attnames, values)


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        user = user_by_pk(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
