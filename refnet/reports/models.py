"""Pre-aggregated referral counts, and who gets the digest.

MonthlyReferralStat holds, per practice-local month and per combination of location,
service line and the source partner's kind, category and owner, how many referrals were
received and how many of those reached each stage. Database triggers keep it exact after
every write to referrals or to a partner's kind, category or owner (migration 0002;
reports.rollup explains them and can rebuild the table), so over-time reports read a few
thousand rows instead of millions.
"""

from django.conf import settings
from django.db import models


class MonthlyReferralStat(models.Model):
    month = models.PositiveIntegerField(help_text="YYYYMM, practice-local")
    location_id = models.BigIntegerField()
    service_line_id = models.BigIntegerField(default=0, help_text="0: none")
    partner_kind = models.CharField(max_length=20, blank=True, help_text="blank: no source")
    partner_category = models.CharField(max_length=20, blank=True)
    owner_id = models.BigIntegerField(default=0, help_text="0: no owner")
    received = models.IntegerField(default=0)
    contacted = models.IntegerField(default=0)
    scheduled = models.IntegerField(default=0)
    seen = models.IntegerField(default=0)
    won = models.IntegerField(default=0)
    lost = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "location_id", "service_line_id", "partner_kind",
                        "partner_category", "owner_id"],
                name="monthly_referral_stat_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month} loc {self.location_id}: {self.received}"


class MonthlyPartnerStat(models.Model):
    """Per practice-local month, location and source partner (0: no source): the same
    counts as MonthlyReferralStat. The partner's kind, category and owner are read from
    the partner as it is now (a join), so only referral writes move these counts.
    Triggers from migration 0004 keep it exact (reports.rollup)."""

    month = models.PositiveIntegerField()
    location_id = models.BigIntegerField()
    partner_id = models.BigIntegerField(default=0, help_text="0: no source")
    received = models.IntegerField(default=0)
    contacted = models.IntegerField(default=0)
    scheduled = models.IntegerField(default=0)
    seen = models.IntegerField(default=0)
    won = models.IntegerField(default=0)
    lost = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "location_id", "partner_id"],
                                    name="monthly_partner_stat_key"),
        ]
        indexes = [models.Index(fields=["partner_id", "month"],
                                name="monthly_partner_stat_partner")]

    def __str__(self) -> str:
        return f"{self.month} loc {self.location_id} partner {self.partner_id}: {self.received}"


class MonthlyPartnerTotal(models.Model):
    """Per practice-local month and source partner (0: no source), all locations together:
    the same counts as MonthlyPartnerStat summed over its location. Reports without a
    location filter read it (about a third fewer rows per month than MonthlyPartnerStat
    at 100,000 partners). Triggers from migration 0005 keep it exact (reports.rollup)."""

    month = models.PositiveIntegerField()
    partner_id = models.BigIntegerField(default=0, help_text="0: no source")
    received = models.IntegerField(default=0)
    contacted = models.IntegerField(default=0)
    scheduled = models.IntegerField(default=0)
    seen = models.IntegerField(default=0)
    won = models.IntegerField(default=0)
    lost = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "partner_id"],
                                    name="monthly_partner_total_key"),
        ]
        indexes = [models.Index(fields=["partner_id", "month"],
                                name="monthly_partner_total_partner")]

    def __str__(self) -> str:
        return f"{self.month} partner {self.partner_id}: {self.received}"


class MonthlyZipStat(models.Model):
    """Per practice-local month, location and the source partner's kind, category and owner
    (as in MonthlyReferralStat), referrals by the patient's 5-digit ZIP code ('' when
    none). Kept exact by triggers on referral writes, on a patient's ZIP change and on a
    partner's kind, category or owner change (migration 0004)."""

    month = models.PositiveIntegerField()
    location_id = models.BigIntegerField()
    zip5 = models.CharField(max_length=5, blank=True)
    partner_kind = models.CharField(max_length=20, blank=True)
    partner_category = models.CharField(max_length=20, blank=True)
    owner_id = models.BigIntegerField(default=0)
    received = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "location_id", "zip5", "partner_kind",
                                            "partner_category", "owner_id"],
                                    name="monthly_zip_stat_key"),
        ]

    def __str__(self) -> str:
        return f"{self.month} loc {self.location_id} ZIP {self.zip5 or '-'}: {self.received}"


class SpeedHistogram(models.Model):
    """Per practice-local month, location and source partner kind, category and owner
    (as in MonthlyReferralStat; a partner change moves them by trigger): how many
    referrals reached first contact (measure 'c') or first visit ('s') after a delay in
    each fixed bucket (reports.rollup.delay_bucket: hourly below 2 days, daily below 120
    days, then one open bucket). Percentiles read from it are exact to the bucket.
    Triggers from migration 0004 keep it exact."""

    month = models.PositiveIntegerField()
    location_id = models.BigIntegerField()
    partner_kind = models.CharField(max_length=20, blank=True)
    partner_category = models.CharField(max_length=20, blank=True)
    owner_id = models.BigIntegerField(default=0)
    measure = models.CharField(max_length=1)
    bucket = models.IntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "location_id", "partner_kind", "partner_category", "owner_id",
                        "measure", "bucket"],
                name="speed_histogram_key"),
        ]

    def __str__(self) -> str:
        return f"{self.month} loc {self.location_id} {self.measure}{self.bucket}: {self.n}"


class DigestFrequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly (Monday morning)"
    MONTHLY = "monthly", "Monthly (first of the month)"


class DigestSubscription(models.Model):
    """A user's digest: what changed, who to thank, who went quiet, by email through the
    outbox. last_period_end makes sending idempotent: one digest per user per period."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="digest")
    frequency = models.CharField(max_length=8, choices=DigestFrequency.choices,
                                 default=DigestFrequency.WEEKLY)
    is_active = models.BooleanField(default=True)
    last_period_end = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.frequency})"


class OpenStatusCount(models.Model):
    """Per location: how many live referrals are in each open status right now, for the
    board's column counts (counting ~100,000 open referrals in the status index cost
    PostgreSQL ~10 ms on every board). Triggers from migration 0007 keep it exact after
    every referral insert, delete and change of status, location or removal (the same
    machinery as the monthly rollups: reports.rollup rebuilds and checks it)."""

    location_id = models.BigIntegerField(unique=True)
    received = models.IntegerField(default=0)
    contacted = models.IntegerField(default=0)
    scheduled = models.IntegerField(default=0)
    seen = models.IntegerField(default=0)

    def __str__(self) -> str:
        return (f"loc {self.location_id}: {self.received} received, {self.contacted} "
                f"contacted, {self.scheduled} scheduled, {self.seen} seen")
