"""limit/offset pages with the total and links to the next and previous pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def _link(request: HttpRequest, offset: int, limit: int) -> str:
    params = request.GET.copy()
    params["offset"] = str(offset)
    params["limit"] = str(limit)
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


def paginate(request: HttpRequest, rows: QuerySet | Sequence, *, limit: int,
             offset: int) -> tuple[dict[str, Any], list]:
    """({count, next, previous}, the rows of this page)."""
    count = rows.count() if isinstance(rows, QuerySet) else len(rows)
    page = list(rows[offset:offset + limit])
    meta = {
        "count": count,
        "next": _link(request, offset + limit, limit) if offset + limit < count else None,
        "previous": (_link(request, max(0, offset - limit), limit) if offset > 0 else None),
    }
    return meta, page
