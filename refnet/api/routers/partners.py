"""/api/partners: the directory, one partner, create, update; their contacts."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from refnet.accounts.permissions import Cap
from refnet.partners import selectors, services
from refnet.partners.models import BusinessCategory, Channel, Partner, PartnerKind, Stage

from ..auth import allow
from ..errors import field_error, not_found
from ..models import ApiResource
from ..pagination import paginate
from ..types import Id, Moment, Text
from .common import ERRORS, PageMeta, PageParams

router = Router(tags=["partners"])
R = ApiResource.PARTNERS


class PartnerOut(Schema):
    id: int
    kind: PartnerKind
    category: str
    name: str
    organization_id: int | None
    npi: str
    taxonomy_code: str
    phone: str
    email: str
    fax: str
    website: str
    address_line: str
    city: str
    state: str
    zip_code: str
    stage: Stage
    owner: str | None = Field(None, description="The owner's username.")
    preferred_channel: Channel
    cadence_days: int
    do_not_contact: bool
    tags: list[str]
    notes: str
    created_at: datetime
    updated_at: datetime


class PartnerPage(PageMeta):
    results: list[PartnerOut]


class PartnerFilters(PageParams):
    kind: PartnerKind | None = None
    category: BusinessCategory | None = None
    stage: Stage | None = None
    owner: Text(150) | None = Field(None, description="Owner's username.")
    q: Text(200) | None = Field(None, description="Name search (typos, nicknames, contacts); "
                                "results in match order, at most 50.")
    updated_since: Moment | None = None


class PartnerIn(Schema):
    kind: PartnerKind
    name: Text(200) = Field(..., min_length=1)
    category: BusinessCategory | None = None
    organization_id: Id | None = None
    npi: Text(10) = ""
    taxonomy_code: Text(10) = ""
    phone: Text(30) = ""
    email: Text(254) = ""
    fax: Text(30) = ""
    website: Text(200) = ""
    address_line: Text(200) = ""
    city: Text(100) = ""
    state: Text(2) = ""
    zip_code: Text(10) = ""
    stage: Stage = Stage.PROSPECT
    owner: Text(150) | None = Field(None, description="The owner's username.")
    preferred_channel: Channel = Channel.EMAIL
    cadence_days: int = Field(90, ge=1, le=3650)
    do_not_contact: bool = False
    tags: list[Text(50)] = Field(default_factory=list, max_length=50)
    notes: Text(10_000) = ""


class PartnerPatch(Schema):
    """Only the fields sent are changed."""

    kind: PartnerKind | None = None
    name: Text(200) | None = Field(None, min_length=1)
    category: BusinessCategory | None = None
    organization_id: Id | None = None
    npi: Text(10) | None = None
    taxonomy_code: Text(10) | None = None
    phone: Text(30) | None = None
    email: Text(254) | None = None
    fax: Text(30) | None = None
    website: Text(200) | None = None
    address_line: Text(200) | None = None
    city: Text(100) | None = None
    state: Text(2) | None = None
    zip_code: Text(10) | None = None
    stage: Stage | None = None
    owner: Text(150) | None = None
    preferred_channel: Channel | None = None
    cadence_days: int | None = Field(None, ge=1, le=3650)
    do_not_contact: bool | None = None
    tags: list[Text(50)] | None = Field(None, max_length=50)
    notes: Text(10_000) | None = None


class ContactOut(Schema):
    id: int
    partner_id: int
    name: str
    title: str
    phone: str
    email: str
    is_primary: bool
    notes: str


class ContactPage(PageMeta):
    results: list[ContactOut]


class ContactIn(Schema):
    name: Text(200) = Field(..., min_length=1)
    title: Text(100) = ""
    phone: Text(30) = ""
    email: Text(254) = ""
    is_primary: bool = False
    notes: Text(10_000) = ""


def partner_out(p: Partner) -> dict:
    return {
        **{f: getattr(p, f) for f in (
            "id", "kind", "category", "name", "organization_id", "npi", "taxonomy_code",
            "phone", "email", "fax", "website", "address_line", "city", "state", "zip_code",
            "stage", "preferred_channel", "cadence_days", "do_not_contact", "notes",
            "created_at", "updated_at")},
        "owner": p.owner.username if p.owner_id else None,
        "tags": [t.name for t in p.tags.all()],
    }


def _get(pk: int) -> Partner:
    partner = Partner.objects.select_related("owner").filter(pk=pk).first()
    if partner is None:
        raise not_found("partner")
    return partner


def _user(username: str | None, field: str):
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise field_error(field, f"No active user named {username!r}.")
    return user


def _fields(data: dict, *, partner: Partner | None = None) -> dict:
    """The schema's fields as the service's keyword arguments."""
    if "owner" in data:
        data["owner"] = _user(data["owner"], "body.owner")
    if "organization_id" in data:
        org_id = data.pop("organization_id")
        org = None
        if org_id is not None:
            org = Partner.objects.live().filter(pk=org_id).first()
            if org is None or (partner is not None and org.pk == partner.pk):
                raise field_error("body.organization_id",
                                  "No partner with this id can be the organization.")
        data["organization"] = org
    for name, value in list(data.items()):
        if value is not None or name in ("owner", "organization", "tags"):
            continue
        field = Partner._meta.get_field(name) if name != "tags" else None
        if field is not None and isinstance(field, models.CharField | models.TextField) \
                and field.blank:
            data[name] = ""  # null clears a text field
        else:
            raise field_error(f"body.{name}", f"{name} cannot be null; leave it out to keep "
                              "the current value.", "null")
    return data


@router.get("/partners", response={200: PartnerPage, **ERRORS}, summary="List partners")
def partner_list(request: HttpRequest, filters: Query[PartnerFilters]):
    allow(request, R, write=False, cap=Cap.PARTNERS_VIEW)
    owner = _user(filters.owner, "query.owner") if filters.owner else None
    rows = selectors.partners_directory(
        q=filters.q or "", kind=filters.kind or "", category=filters.category or "",
        stage=filters.stage or "", owner=owner,
    )
    if filters.updated_since is not None:
        if isinstance(rows, list):
            rows = [p for p in rows if p.updated_at >= filters.updated_since]
        else:
            rows = rows.filter(updated_at__gte=filters.updated_since)
    if not isinstance(rows, list):
        rows = rows.prefetch_related("tags")
    meta, page = paginate(request, rows, limit=filters.limit, offset=filters.offset)
    return {**meta, "results": [partner_out(p) for p in page]}


@router.get("/partners/{partner_id}", response={200: PartnerOut, **ERRORS},
            summary="One partner")
def partner_get(request: HttpRequest, partner_id: Id):
    allow(request, R, write=False, cap=Cap.PARTNERS_VIEW)
    return partner_out(_get(partner_id))


@router.post("/partners", response={201: PartnerOut, **ERRORS}, summary="Add a partner")
def partner_create(request: HttpRequest, payload: PartnerIn):
    allow(request, R, write=True, cap=Cap.PARTNERS_EDIT)
    data = _fields(payload.dict())
    tags = data.pop("tags")
    with transaction.atomic():
        partner = services.partner_create_with_tag_names(by=None, tag_names=tags, **data)
    return Status(201, partner_out(_get(partner.pk)))


@router.patch("/partners/{partner_id}", response={200: PartnerOut, **ERRORS},
              summary="Change a partner (only the fields sent)")
def partner_update(request: HttpRequest, partner_id: Id, payload: PartnerPatch):
    allow(request, R, write=True, cap=Cap.PARTNERS_EDIT)
    partner = _get(partner_id)
    if partner.merged_into_id:
        raise field_error("path.partner_id", f"This partner was merged into #"
                          f"{partner.merged_into_id}; change that one instead.", "merged")
    data = _fields(payload.dict(exclude_unset=True), partner=partner)
    tags = data.pop("tags", None)
    with transaction.atomic():
        if tags is not None:
            services.partner_update_with_tag_names(partner=partner, by=None, tag_names=tags,
                                                   **data)
        else:
            services.partner_update(partner=partner, by=None, **data)
    return partner_out(_get(partner.pk))


@router.get("/partners/{partner_id}/contacts", response={200: ContactPage, **ERRORS},
            summary="A partner's contacts")
def contact_list(request: HttpRequest, partner_id: Id, filters: Query[PageParams]):
    allow(request, R, write=False, cap=Cap.PARTNERS_VIEW)
    partner = _get(partner_id)
    meta, page = paginate(request, partner.contacts.order_by("-is_primary", "name", "id"),
                          limit=filters.limit, offset=filters.offset)
    return {**meta, "results": page}


@router.post("/partners/{partner_id}/contacts", response={201: ContactOut, **ERRORS},
             summary="Add a contact to a partner")
def contact_create(request: HttpRequest, partner_id: Id, payload: ContactIn):
    allow(request, R, write=True, cap=Cap.PARTNERS_EDIT)
    partner = _get(partner_id)
    data = payload.dict()
    with transaction.atomic():
        contact = services.contact_create(partner=partner, by=None, **data)
    return Status(201, contact)
