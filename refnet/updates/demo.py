"""Demo data: one published update with deliveries in every state, and a draft."""

from __future__ import annotations

from datetime import timedelta

from .models import UpdateKind
from .services import update_create, update_publish, updates_tick


def build_demo(*, practice, partners, now, rng, say) -> None:
    outreach = practice.users["outreach"]
    published = update_create(
        by=outreach, kind=UpdateKind.TREATMENT, title="Dry needling now offered",
        body="Dear {{ partner.greeting }},\n\nOur therapists at {{ location.name }} now "
             "offer dry needling for muscle pain and trigger points. Questions? Call "
             "{{ location.phone }}.",
        audience={"kinds": ["local_business", "community_org"],
                  "stages": ["active", "engaged", "dormant"]})
    plan = update_publish(update=published, by=outreach, now=now - timedelta(days=3))
    update_create(
        by=practice.users["manager"], kind=UpdateKind.PRICE, title="Self-pay prices for 2026",
        body="Our self-pay rates change on January 1. The new sheet is attached to our "
             "website; nothing changes for insured patients.",
        audience={"kinds": ["clinician", "medical_practice"]})
    updates_tick(now=now)
    say(f"updates: 1 published to {plan.partners} partners ({plan.now_total} at once, "
        f"{plan.later_total} waiting for their cadence, {plan.skipped_total} skipped), "
        "1 draft")
