"""The per-partner monthly rollup without the location dimension (MonthlyPartnerTotal),
its triggers and its first fill. Built with migration 0004's machinery: one grouped
SELECT over referral rows, run signed over OLD / NEW by the referral triggers and unsigned
over every referral by the rebuild (reports.rollup lists this module's ROLLUPS beside
0004's). Only referral writes move it: the partner's kind, category and owner are read
from the partner as it is now, as for MonthlyPartnerStat."""

import importlib

from django.db import migrations, models

_m4 = importlib.import_module("refnet.reports.migrations.0004_more_rollup_triggers")
ALL_REFERRALS = _m4.ALL_REFERRALS


class PartnerTotalRollup(_m4.Rollup):
    table = "reports_monthlypartnertotal"
    key = ("month", "partner_id")
    counts = ("received", "contacted", "scheduled", "seen", "won", "lost")
    depends = ("received_month", "source_partner_id", "contacted_at", "scheduled_at",
               "seen_at", "status")

    def selects(self, vendor, src, sign="", where="true", **dims):
        return [
            f"SELECT r.received_month, COALESCE(r.source_partner_id, 0), "
            f"{sign}COUNT(*), {sign}COUNT(r.contacted_at), {sign}COUNT(r.scheduled_at), "
            f"{sign}COUNT(r.seen_at), "
            f"{sign}SUM(CASE WHEN r.status = 'closed_won' THEN 1 ELSE 0 END), "
            f"{sign}SUM(CASE WHEN r.status = 'closed_lost' THEN 1 ELSE 0 END) "
            f"FROM {src} WHERE {where} GROUP BY 1, 2"]


ROLLUPS = (PartnerTotalRollup(),)
BY_VENDOR = {
    "sqlite": lambda: _m4.sqlite_statements(ROLLUPS, ()),
    "postgresql": lambda: _m4.pg_statements(ROLLUPS, ()),
}


def rebuild_statements(vendor: str) -> list[str]:
    return _m4.rebuild_statements(vendor, ROLLUPS)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    up, _down = BY_VENDOR[vendor]()
    with schema_editor.connection.cursor() as cursor:
        for sql in up + rebuild_statements(vendor):
            cursor.execute(sql)


def drop_triggers(apps, schema_editor):
    _up, down = BY_VENDOR[schema_editor.connection.vendor]()
    with schema_editor.connection.cursor() as cursor:
        for sql in down:
            cursor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0004_more_rollup_triggers'),
        ('referrals', '0005_patient_identifier'),
    ]

    operations = [
        migrations.CreateModel(
            name='MonthlyPartnerTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.PositiveIntegerField()),
                ('partner_id', models.BigIntegerField(default=0, help_text='0: no source')),
                ('received', models.IntegerField(default=0)),
                ('contacted', models.IntegerField(default=0)),
                ('scheduled', models.IntegerField(default=0)),
                ('seen', models.IntegerField(default=0)),
                ('won', models.IntegerField(default=0)),
                ('lost', models.IntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['partner_id', 'month'], name='monthly_partner_total_partner')],
                'constraints': [models.UniqueConstraint(fields=('month', 'partner_id'), name='monthly_partner_total_key')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
