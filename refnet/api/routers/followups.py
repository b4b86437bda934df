"""/api/followups: the practice's follow-ups, and marking one done or skipped.

A key is not a person and has no inbox of its own, so it sees what a manager sees:
everyone's follow-ups (optionally one assignee's). That needs a role with "followups.all";
summaries never name a patient, and a follow-up about a referral carries only its id.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from refnet.accounts.permissions import Cap
from refnet.followups import services
from refnet.followups.models import DoneHow, FollowUp, FollowUpKind, FollowUpStatus
from refnet.followups.selectors import day_start

from ..auth import allow
from ..errors import ApiError, field_error, not_found
from ..models import ApiResource
from ..pagination import paginate
from ..types import Day, Id, Text
from .common import ERRORS, PageMeta, PageParams

router = Router(tags=["followups"])
R = ApiResource.FOLLOWUPS


class FollowUpOut(Schema):
    id: int
    kind: FollowUpKind
    status: FollowUpStatus
    summary: str
    partner_id: int | None
    referral_id: int | None
    assignee: str | None = Field(None, description="The assignee's username.")
    due_at: datetime
    original_due_at: datetime
    completed_at: datetime | None
    done_how: str
    skip_reason: str


class FollowUpPage(PageMeta):
    results: list[FollowUpOut]


class FollowUpFilters(PageParams):
    status: FollowUpStatus | None = FollowUpStatus.OPEN
    kind: FollowUpKind | None = None
    assignee: Text(150) | None = Field(None, description="Username; 'none' for unassigned.")
    partner: Id | None = None
    due_before: Day | None = Field(None, description="Due before this local date.")


class CompleteIn(Schema):
    how: DoneHow = DoneHow.OTHER
    note: Text(2000) = ""


class SkipIn(Schema):
    reason: Text(300) = Field(..., min_length=1)


def followup_out(f: FollowUp) -> dict:
    return {
        **{n: getattr(f, n) for n in (
            "id", "kind", "status", "summary", "partner_id", "referral_id", "due_at",
            "original_due_at", "completed_at", "done_how", "skip_reason")},
        "assignee": f.assignee.username if f.assignee_id else None,
    }


def _get(pk: int) -> FollowUp:
    followup = FollowUp.objects.select_related("assignee").filter(pk=pk).first()
    if followup is None:
        raise not_found("follow-up")
    return followup


@router.get("/followups", response={200: FollowUpPage, **ERRORS}, summary="List follow-ups")
def followup_list(request: HttpRequest, filters: Query[FollowUpFilters]):
    allow(request, R, write=False, cap=Cap.FOLLOWUPS_ALL)
    rows = FollowUp.objects.select_related("assignee").order_by("due_at", "id")
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.partner:
        rows = rows.filter(partner_id=filters.partner)
    if filters.assignee == "none":
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee:
        user = get_user_model().objects.filter(username=filters.assignee).first()
        if user is None:
            raise field_error("query.assignee", f"No user named {filters.assignee!r}.")
        rows = rows.filter(assignee=user)
    if filters.due_before:
        rows = rows.filter(due_at__lt=day_start(filters.due_before))
    meta, page = paginate(request, rows, limit=filters.limit, offset=filters.offset)
    return {**meta, "results": [followup_out(f) for f in page]}


def _act(action) -> None:
    try:
        with transaction.atomic():
            action()
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise ApiError(409, "conflict", " ".join(error.messages)) from None


@router.post("/followups/{followup_id}/complete", response={200: FollowUpOut, **ERRORS},
             summary="Mark a follow-up done")
def followup_complete(request: HttpRequest, followup_id: Id, payload: CompleteIn):
    allow(request, R, write=True, cap=Cap.FOLLOWUPS_ALL)
    followup = _get(followup_id)
    _act(lambda: services.followup_complete(followup=followup, how=payload.how,
                                            note=payload.note, by=None))
    return followup_out(_get(followup_id))


@router.post("/followups/{followup_id}/skip", response={200: FollowUpOut, **ERRORS},
             summary="Skip a follow-up, saying why")
def followup_skip(request: HttpRequest, followup_id: Id, payload: SkipIn):
    allow(request, R, write=True, cap=Cap.FOLLOWUPS_ALL)
    followup = _get(followup_id)
    _act(lambda: services.followup_skip(followup=followup, reason=payload.reason, by=None))
    return followup_out(_get(followup_id))
