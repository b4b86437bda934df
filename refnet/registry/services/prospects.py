"""Add a registry provider as a prospect: the partner and its first follow-up, together."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from refnet.accounts.models import User
from refnet.followups.models import FollowUpKind
from refnet.followups.rules import add_business_days
from refnet.followups.services import followup_task_create
from refnet.partners.models import Partner, PartnerKind, Stage
from refnet.partners.services import partner_create

from ..models import EntityType, RegistryProvider
from ..text import pretty_name, pretty_phone

FIRST_FOLLOWUP_BUSINESS_DAYS = 2


def prospect_add(*, provider: RegistryProvider, owner: User, by: User | None
                 ) -> tuple[Partner, bool]:
    """One transaction: a Partner (stage prospect, owner, NPI, taxonomy, address, ZIP
    centre) and the owner's first follow-up, due in two business days. A second call for
    the same NPI (a double click) returns the existing partner and created False."""
    with transaction.atomic():
        provider = RegistryProvider.objects.select_for_update().get(pk=provider.pk)
        existing = Partner.objects.filter(npi=str(provider.npi)).order_by("pk").first()
        if existing is not None:
            return existing, False
        individual = provider.entity_type == EntityType.INDIVIDUAL
        coordinates = {}
        if provider.latitude is not None and provider.longitude is not None:
            coordinates = {"latitude": Decimal(f"{provider.latitude:.6f}"),
                           "longitude": Decimal(f"{provider.longitude:.6f}")}
        partner = partner_create(
            by=by, kind=PartnerKind.CLINICIAN if individual else PartnerKind.MEDICAL_PRACTICE,
            name=pretty_name(provider.name)[:200], npi=str(provider.npi),
            taxonomy_code=provider.primary_taxonomy, phone=pretty_phone(provider.phone),
            address_line=pretty_name(provider.address_line)[:200],
            city=pretty_name(provider.city)[:100], state=provider.state,
            zip_code=provider.zip5, stage=Stage.PROSPECT, owner=owner,
            notes="Added from the complementary-practice finder (NPPES registry).",
            **coordinates)
        followup_task_create(
            kind=FollowUpKind.PROSPECT, summary=f"Introduce the practice to {partner.name}",
            assignee=owner, by=by, partner=partner, key=f"prospect:first:{partner.pk}",
            due_at=add_business_days(timezone.localdate(), FIRST_FOLLOWUP_BUSINESS_DAYS))
        return partner, True
