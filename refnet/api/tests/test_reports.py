"""/api/reports: each report's figures for a period, aggregates only."""

from datetime import datetime

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def at(text):
    return timezone.make_aware(datetime.fromisoformat(text))


def test_index_lists_every_report(api, db):
    body = api("outreach", write=False).get("/reports").json()
    slugs = [r["slug"] for r in body]
    assert "referrals-over-time" in slugs and "conversion-by-source" in slugs
    over_time = body[slugs.index("referrals-over-time")]
    assert over_time["granularities"] == ["day", "week", "month", "quarter"]


def test_referrals_over_time_by_month(api, make_referral, make_partner):
    dana = make_partner(name="Dana Whitfield, MD")
    for when in ("2026-01-05 10:00", "2026-01-31 23:30", "2026-03-10 12:00"):
        make_referral(source_partner=dana, received_at=at(when))
    body = api("outreach", write=False).get("/reports/referrals-over-time", {
        "start": "2026-01-01", "end": "2026-03-31", "granularity": "month", "by": "kind",
    }).json()
    totals = {row["period"]: row["total"] for row in body["rows"]}
    assert totals == {"Jan 2026": 2, "Feb 2026": 0, "Mar 2026": 1}
    assert body["granularity"] == "month" and body["by"] == "kind"
    assert "Synthetic" not in str(body) and "_links" not in str(body)


def test_report_errors_name_the_field(api, db):
    client = api()
    assert client.get("/reports/nope", {"start": "2026-01-01", "end": "2026-01-31"}
                      ).json()["code"] == "not_found"
    body = client.get("/reports/speed", {"start": "2026-02-01", "end": "2026-01-01"}).json()
    assert body["errors"][0]["field"] == "query.end"
    body = client.get("/reports/referrals-over-time",
                      {"start": "2020-01-01", "end": "2026-01-01", "granularity": "day"}).json()
    assert body["errors"][0]["field"] == "query.granularity"
    body = client.get("/reports/speed", {"start": "2026-01-01"}).json()
    assert body["errors"][0] == {"field": "query.end", "code": "missing",
                                 "message": "Field required"}
