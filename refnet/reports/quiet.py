"""Partners gone quiet, at one location or all.

The rules engine (followups.rules.partner_pass) decides who went quiet against their own
baseline, practice-wide, and opens a re-engage follow-up whose summary says why. With a
location filter, a quiet partner shows at the locations its referrals went to in the
window that baseline is read from (the last QUIET_WINDOW_DAYS days): a partner who sent
patients only to Downtown is not "gone quiet" at Uptown. See docs/reports.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpStatus, RuleKind
from refnet.followups.rules.partner_pass import QUIET_WINDOW_DAYS


def gone_quiet(*, location_ids: Iterable[int] = (), now: datetime | None = None
               ) -> QuerySet[FollowUp]:
    """Open re-engage follow-ups (one per partner), limited to partners with a referral
    to one of `location_ids` in the baseline window when locations are given."""
    from refnet.referrals.models import Referral

    qs = FollowUp.objects.filter(kind=RuleKind.REENGAGE, status=FollowUpStatus.OPEN,
                                 partner__isnull=False)
    location_ids = [pk for pk in location_ids if pk]
    if location_ids:
        now = now or timezone.now()
        qs = qs.filter(Exists(Referral.objects.filter(
            source_partner_id=OuterRef("partner_id"), location_id__in=location_ids,
            received_at__gte=now - timedelta(days=QUIET_WINDOW_DAYS),
            received_at__lte=now)))
    return qs
