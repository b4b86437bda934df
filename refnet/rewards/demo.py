"""Demo appreciation: gifts to gyms, a lunch for a clinic, thanks to clinicians, one
over-cap attempt refused and one manager override; the patient referral program off."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from refnet.partners.models import PartnerKind

from .services import appreciation_issue, caps_ensure_defaults, program_get


def _day(today: date, days_ago: int) -> date:
    """A day this calendar year (the caps are yearly), not after today."""
    return max(today - timedelta(days=days_ago), date(today.year, 1, 1))


def build_demo(*, practice: Any, partners: list, now: Any, rng: Any, say: Any) -> None:
    caps_ensure_defaults()  # the demo's reset wiped the seeded caps
    program_get()  # off: no sign-off recorded
    users = practice.users
    outreach, manager = users["outreach"], users["manager"]
    today = timezone.localdate(now)
    live = [p for p in partners if p.merged_into_id is None and not p.do_not_contact]
    gyms = [p for p in live if p.kind == PartnerKind.LOCAL_BUSINESS
            and p.category == "gym_trainer"]
    businesses = [p for p in live if p.kind in (PartnerKind.LOCAL_BUSINESS,
                                                PartnerKind.COMMUNITY_ORG) and p not in gyms]
    practices = [p for p in live if p.kind == PartnerKind.MEDICAL_PRACTICE]
    clinicians = [p for p in live if p.kind == PartnerKind.CLINICIAN]
    count = 0

    def give(partner: Any, kind: str, description: str, value: str, days_ago: int,
             by: Any = outreach, **extra: Any) -> None:
        nonlocal count
        appreciation_issue(partner=partner, kind=kind, description=description, value=value,
                           given_on=_day(today, days_ago), by=by, **extra)
        count += 1

    for gym, (what, value) in zip(rng.sample(gyms, min(3, len(gyms))),
                                  [("Fruit basket for the front desk", "45.00"),
                                   ("Branded water bottles for members", "120.00"),
                                   ("Co-hosted injury-prevention workshop", "0.00")],
                                  strict=False):
        give(gym, "co_promotion" if value == "0.00" else "gift", what, value,
             rng.randint(10, 120))
    for business in rng.sample(businesses, min(2, len(businesses))):
        give(business, "discount", "10% off a first assessment for their staff", "25.00",
             rng.randint(5, 90))
    if practices:
        clinic = rng.choice(practices)
        give(clinic, "meal", "Lunch for the clinic team", "180.00", rng.randint(20, 60))
    picked = rng.sample(clinicians, min(4, len(clinicians)))
    if len(picked) >= 4:
        a, b, c, d = picked
        give(a, "gift", "Holiday gift basket", "65.00", rng.randint(5, 30))
        give(b, "event", "Ticket to the spring CME dinner", "95.00", rng.randint(30, 90))
        # Near the yearly cap, then one attempt too many: refused and recorded.
        give(c, "event", "Conference registration", "480.00", 60)
        give(c, "meal", "Dinner after the grand rounds", "90.00", 3)
        # Near the cap, then a manager gives over it with a reason.
        give(d, "event", "Continuing-education course", "500.00", 50)
        give(d, "gift", "Retirement gift from the whole practice", "60.00", 2, by=manager,
             override_reason="One-off retirement gift; approved at the partners meeting.")
    say(f"Logged {count} appreciation entries (one refused over the cap, one override); "
        f"patient referral program off")
