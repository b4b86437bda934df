"""Pieces the routers share: the page envelope and filters."""

from __future__ import annotations

from ninja import Schema

from ..types import Limit, Offset


class PageParams(Schema):
    limit: Limit = 50
    offset: Offset = 0


class PageMeta(Schema):
    count: int
    next: str | None
    previous: str | None


class Problem(Schema):
    """The body of every error response."""

    code: str
    message: str
    errors: list[dict[str, str]] | None = None


ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 409: Problem,
          422: Problem, 500: Problem}
