"""The daily partner pass: check-ins at each partner's cadence, partners gone quiet against
their own baseline, progress reports every N days, and closing what no longer applies.

Each reads the partner table (or the last year of referrals) with one SQL aggregate and
decides per partner in Python: a loop over partners, never over their referrals.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Subquery
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from refnet.outbox.models import OutboxMessage, OutboxStatus
from refnet.partners.models import CLINICAL_KINDS, Partner, Stage
from refnet.referrals.models import Referral, ReferralEvent, ReferralStatus, Visit, VisitKind

from ..models import FollowUp, FollowUpStatus, RuleKind
from .engine import Batch
from .resolve import PartnerFacts
from .timing import due_after, due_on, latest_referral_locations, next_business_day, short_date

CHECK_IN_STAGES = (Stage.CONTACTED, Stage.ENGAGED, Stage.ACTIVE)
CHECK_IN_HORIZON_DAYS = 7  # a check-in appears in the inbox a week before it is due
QUIET_WINDOW_DAYS = 365
# Three referrals on one afternoon are not a "usual interval" of minutes: below a week,
# the baseline counts as a week, so nobody is flagged quiet after a few days.
MIN_USUAL_INTERVAL = timedelta(days=7)
PARTNER_KINDS = (RuleKind.CHECK_IN, RuleKind.REENGAGE)


def skip_uncontactable(batch: Batch) -> int:
    """Open follow-ups of partners now marked do-not-contact (or merged away) are skipped,
    with the reason, so nobody works on them."""
    rows = list(FollowUp.objects.filter(status=FollowUpStatus.OPEN).filter(
        Q(partner__do_not_contact=True) | Q(partner__merged_into__isnull=False)
        | Q(partner__removed_at__isnull=False))
        .select_related("partner__merged_into"))
    for followup in rows:
        partner = followup.partner
        followup.status = FollowUpStatus.SKIPPED
        followup.skip_reason = (
            "The partner is marked do-not-contact" if partner.do_not_contact
            else f"merged into {partner.merged_into.name}" if partner.merged_into_id
            else "The partner was removed")
        followup.completed_at = batch.now
    if rows:
        bulk_update_with_history(rows, FollowUp, ["status", "skip_reason", "completed_at"],
                                 batch_size=500)
    return len(rows)


def _location_and_assignee(batch: Batch, facts: dict[int, PartnerFacts]
                           ) -> dict[int, tuple[int | None, int | None]]:
    locations = latest_referral_locations(list(facts))
    return {pk: (locations.get(pk),
                 p.owner_id or batch.assigner.for_location(locations.get(pk)))
            for pk, p in facts.items()}


def plan_check_ins(batch: Batch) -> None:
    """Last touch = the latest of: any follow-up for the partner done (a thank-you call is
    a touch too), a check-in or re-engage skipped, a message sent, the partner's creation.
    Due = last touch + cadence_days; planned when due within a week, one open check-in per
    partner.

    A check-in is never born overdue: the rule cannot have been kept before it existed.
    When the cadence ran out long ago, it is due today; when nobody ever touched the
    partner (the rule meeting an old directory for the first time), the first check-ins
    are spread over one cadence period by partner id, so turning the rule on does not
    drop hundreds of "800 days overdue" rows into one inbox."""
    if not batch.book.any_enabled(RuleKind.CHECK_IN):
        return
    batch.book.load_overrides(None, kinds=PARTNER_KINDS)
    today = timezone.localdate(batch.now)
    horizon = today + timedelta(days=CHECK_IN_HORIZON_DAYS)
    last_followup = (FollowUp.objects.filter(
        Q(status=FollowUpStatus.DONE)
        | Q(status=FollowUpStatus.SKIPPED, kind__in=PARTNER_KINDS), partner=OuterRef("pk"))
        .order_by().values("partner").annotate(last=Max("completed_at")).values("last"))
    last_message = (OutboxMessage.objects.filter(partner=OuterRef("pk"),
                                                 status=OutboxStatus.SENT)
                    .order_by().values("partner").annotate(last=Max("sent_at")).values("last"))
    open_check_in = FollowUp.objects.filter(partner=OuterRef("pk"), kind=RuleKind.CHECK_IN,
                                            status=FollowUpStatus.OPEN)
    rows = (Partner.objects.filter(stage__in=CHECK_IN_STAGES, do_not_contact=False,
                                   merged_into__isnull=True, removed_at__isnull=True)
            .exclude(Exists(open_check_in))
            .annotate(last_followup=Subquery(last_followup),
                      last_message=Subquery(last_message))
            .values_list(*PartnerFacts.FIELDS, "created_at", "last_followup", "last_message"))
    due: dict[int, tuple] = {}
    width = len(PartnerFacts.FIELDS)
    cadence = PartnerFacts.FIELDS.index("cadence_days")
    tz = batch.tz
    for row in rows.iterator(chunk_size=5000):
        touch = max(t for t in row[width:] if t is not None)
        due_date = touch.astimezone(tz).date() + timedelta(days=row[cadence])
        if due_date < today:
            never_touched = row[width + 1] is None and row[width + 2] is None
            # Each partner's place in the cycle is fixed by its id, so the date stays put
            # from one daily pass to the next.
            phase = (row[0] - today.toordinal()) % max(row[cadence], 1)
            due_date = today + timedelta(days=phase) if never_touched else today
        if due_date > horizon:
            continue
        facts = PartnerFacts(*row[:width])
        rule = batch.book.for_partner(RuleKind.CHECK_IN, facts)
        if rule is not None:
            due[facts.id] = (facts, next_business_day(due_date), rule)
    where = _location_and_assignee(batch, {pk: v[0] for pk, v in due.items()})
    for pk, (facts, due_date, rule) in due.items():
        location_id, assignee_id = where[pk]
        batch.add(
            key=f"check_in:p{pk}:{due_date.isoformat()}", rule=rule, partner=facts,
            referral_id=None, location_id=location_id, assignee_id=assignee_id,
            due_at=due_on(due_date),
            summary=f"Check in with {facts.name} (they asked to hear from us every "
                    f"{facts.cadence_days} days)",
        )


def quiet_partner_stats(now) -> list[dict]:
    """Per partner with referrals in the last year: how many, first and last, and the
    counts of the last 90 days and the 90 before. One grouped query on
    (source_partner, received_at)."""
    year_ago = now - timedelta(days=QUIET_WINDOW_DAYS)
    d90, d180 = now - timedelta(days=90), now - timedelta(days=180)
    return list(
        Referral.objects.filter(received_at__gte=year_ago, received_at__lte=now,
                                source_partner__isnull=False)
        .order_by().values("source_partner")
        .annotate(n=Count("id"), first=Min("received_at"), last=Max("received_at"),
                  recent=Count("id", filter=Q(received_at__gt=d90)),
                  before=Count("id", filter=Q(received_at__gt=d180, received_at__lte=d90)))
        .filter(Q(n__gte=3) | Q(before__gte=4))
    )


def why_quiet(row: dict, now) -> str | None:
    """Why this partner counts as gone quiet, or None. Their own baseline: no referral for
    more than twice their usual interval, or the last 90 days at half or less of the 90
    before (when those had at least 4)."""
    if row["n"] >= 3:
        usual = max((row["last"] - row["first"]) / (row["n"] - 1), MIN_USUAL_INTERVAL)
        silence = now - row["last"]
        if silence > 2 * usual:
            return (f"no referral for {silence.days} days (usually one every "
                    f"{max(1, round(usual.total_seconds() / 86400))} days)")
    if row["before"] >= 4 and row["recent"] * 2 <= row["before"]:
        recent = row["recent"]
        return (f"{recent} referral{'' if recent == 1 else 's'} in the last 90 days, down "
                f"from {row['before']} in the 90 days before")
    return None


def plan_reengage(batch: Batch) -> None:
    if not batch.book.any_enabled(RuleKind.REENGAGE):
        return
    batch.book.load_overrides(None, kinds=PARTNER_KINDS)
    quiet = {row["source_partner"]: reason for row in quiet_partner_stats(batch.now)
             if (reason := why_quiet(row, batch.now))}
    if not quiet:
        return
    already_open = set(FollowUp.objects.filter(kind=RuleKind.REENGAGE,
                                               status=FollowUpStatus.OPEN)
                       .values_list("partner_id", flat=True))
    facts = {pk: p for pk, p in PartnerFacts.load(pk for pk in quiet
                                                  if pk not in already_open).items()
             if batch.book.for_partner(RuleKind.REENGAGE, p) is not None}
    where = _location_and_assignee(batch, facts)
    month = timezone.localdate(batch.now).strftime("%Y-%m")
    for pk, partner in facts.items():
        rule = batch.book.for_partner(RuleKind.REENGAGE, partner)
        location_id, assignee_id = where[pk]
        batch.add(
            key=f"reengage:p{pk}:{month}", rule=rule, partner=partner, referral_id=None,
            location_id=location_id, assignee_id=assignee_id,
            due_at=due_after(batch.now, rule.due_days),
            summary=f"Re-engage {partner.name}: {quiet[pk]}",
        )


def plan_progress_by_days(batch: Batch) -> None:
    """Every N days while under care (seen in the last year, no discharge yet): one report
    per period since the visit, keyed by the day the period ended."""
    rules = [r for (kind, _), r in batch.book.rules.items()
             if kind == RuleKind.PROGRESS_REPORT and r.enabled and r.progress_every_days]
    if not rules:
        return
    since = batch.now - timedelta(days=QUIET_WINDOW_DAYS)
    seen_at = (ReferralEvent.objects.filter(referral=OuterRef("pk"),
                                            to_status=ReferralStatus.SEEN)
               .order_by("at").values("at")[:1])
    discharged = Visit.objects.filter(referral=OuterRef("pk"), kind=VisitKind.DISCHARGE)
    rows = list(
        Referral.objects.filter(status__in=[ReferralStatus.SEEN, ReferralStatus.CLOSED_WON],
                                source_partner__kind__in=list(CLINICAL_KINDS))
        .exclude(Exists(discharged)).annotate(first_seen=Subquery(seen_at))
        .filter(first_seen__gte=since)
        .values("id", "source_partner_id", "source_contact_id", "location_id",
                "received_at", "first_seen"))
    partners = PartnerFacts.load(r["source_partner_id"] for r in rows)
    batch.book.load_overrides(partners)
    today = timezone.localdate(batch.now)
    for row in rows:
        partner = partners[row["source_partner_id"]]
        rule = batch.book.for_partner(RuleKind.PROGRESS_REPORT, partner)
        if rule is None or not rule.progress_every_days:
            continue
        start = timezone.localdate(row["first_seen"])
        periods = (today - start).days // rule.progress_every_days
        if periods < 1:
            continue
        day = start + timedelta(days=periods * rule.progress_every_days)
        batch.add(
            key=f"progress:r{row['id']}:d{day.isoformat()}", rule=rule, partner=partner,
            referral_id=row["id"], location_id=row["location_id"],
            assignee_id=batch.assigner.for_referral(owner_id=partner.owner_id,
                                                    location_id=row["location_id"]),
            due_at=due_on(next_business_day(day)), contact_id=row["source_contact_id"],
            summary=f"Send {partner.name} a progress report ({rule.progress_every_days} days "
                    f"of care since {short_date(start)}; referral received "
                    f"{short_date(row['received_at'])})",
        )


def partner_pass(batch: Batch) -> dict[str, int]:
    skipped = skip_uncontactable(batch)
    plan_check_ins(batch)
    plan_reengage(batch)
    plan_progress_by_days(batch)
    counts = batch.commit()
    counts["skipped"] += skipped
    return dict(counts)
