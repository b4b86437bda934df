"""The partner page: facts, contacts, aliases, referral history (with the audit trail), the
monthly chart and the merge history."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from refnet.accounts.models import AuditAction, AuditEvent
from refnet.partners.services import partner_add_alias, partner_merge


def detail(client, partner):
    return client.get(reverse("partners:detail", args=[partner.pk]))


def month_counts(html: str) -> dict[str, int]:
    return {m: int(n) for m, n in re.findall(r'data-month="([\d-]+)" data-count="(\d+)"', html)}


def test_shows_facts_contacts_and_aliases(login, make_partner, make_contact, users):
    partner = make_partner("John Smith, MD", npi="1234567893", phone="217-555-0101",
                           city="Springfield", owner=users["outreach"])
    make_contact(partner, name="Janet Okafor", title="Office manager", is_primary=True)
    make_contact(partner, name="Luis Ortega", email="luis@example.org")
    partner_add_alias(partner=partner, name="Springfield Spine Doc")

    response = detail(login("front_desk"), partner)

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["nav"] == "partners"
    assert "<h1>John Smith, MD" in html
    assert "1234567893" in html and "217-555-0101" in html and "Otto" in html
    assert "Janet Okafor" in html and "Office manager" in html and "luis@example.org" in html
    assert re.search(r"Also known as</dt><dd[^>]*>Springfield Spine Doc<", html)


@time_machine.travel(datetime(2025, 6, 15, 16, 0, tzinfo=UTC), tick=False)
def test_chart_counts_referrals_per_month_for_24_months(login, make_partner, make_referral,
                                                        local_dt):
    partner = make_partner()
    for day in (3, 14, 28):
        make_referral(source_partner=partner, received_at=local_dt(2025, 3, day))
    make_referral(source_partner=partner, received_at=local_dt(2025, 6, 2))
    make_referral(source_partner=partner, received_at=local_dt(2023, 7, 1, 0, 30))
    make_referral(source_partner=partner, received_at=local_dt(2023, 6, 30, 23, 30))  # too old
    # 01:30 UTC on March 1st is still February in the practice's time zone (New York).
    make_referral(source_partner=partner,
                  received_at=datetime(2025, 3, 1, 1, 30, tzinfo=UTC))
    make_referral(source_partner=make_partner("Someone Else"), received_at=local_dt(2025, 3, 5))

    html = detail(login("outreach"), partner).content.decode()

    counts = month_counts(html)
    assert list(counts)[0] == "2023-07" and list(counts)[-1] == "2025-06"
    assert len(counts) == 24
    assert counts["2025-03"] == 3
    assert counts["2025-02"] == 1
    assert counts["2025-06"] == 1
    assert counts["2023-07"] == 1
    assert counts["2024-01"] == 0
    assert sum(counts.values()) == 6
    assert "Mar 2025: 3 referrals" in html
    assert "6 referrals in total from July 2023 to June 2025" in html


@pytest.fixture
def history(make_partner, make_patient, make_referral, service_line):
    partner = make_partner("John Smith, MD")
    ada = make_patient("Ada", "Lovelace")
    grace = make_patient("Grace", "Hopper")
    make_referral(patient=ada, source_partner=partner, service_line=service_line,
                  reason="Chronic lumbar pain SECRET", diagnosis="M54.5-SECRET",
                  received_at=timezone.now() - timedelta(days=10))
    make_referral(patient=grace, source_partner=partner,
                  received_at=timezone.now() - timedelta(days=2))
    return partner, ada, grace


def test_coordinator_sees_patient_names_and_the_view_is_audited(login, history, users):
    partner, ada, grace = history

    html = detail(login("coordinator"), partner).content.decode()

    assert "Grace Hopper" in html and "Ada Lovelace" in html
    assert reverse("referrals:patient_detail", args=[ada.pk]) in html
    assert html.index("Grace Hopper") < html.index("Ada Lovelace")  # newest first
    assert "Physical therapy" in html and "Main Street Clinic" in html
    assert "SECRET" not in html
    events = AuditEvent.objects.filter(user=users["coordinator"])
    assert sorted(events.values_list("patient_id", flat=True)) == sorted([ada.pk, grace.pk])
    assert {(e.action, e.what) for e in events} == {
        (AuditAction.VIEW, f"partner:{partner.pk}:referrals")
    }


def test_outreach_sees_the_history_without_patients_or_clinical_fields(login, history):
    partner, ada, grace = history

    html = detail(login("outreach"), partner).content.decode()

    assert "Physical therapy" in html and "Main Street Clinic" in html
    assert html.count("<td>Received</td>") == 2
    for secret in ("Ada", "Lovelace", "Grace", "Hopper", "SECRET", "/referrals/patients/"):
        assert secret not in html
    assert not AuditEvent.objects.exists()


def test_history_shows_the_latest_50(login, make_partner, make_patient, make_referral, local_dt):
    partner = make_partner()
    patient = make_patient()
    for i in range(51):
        make_referral(patient=patient, source_partner=partner,
                      received_at=local_dt(2025, 1, 1) + timedelta(days=i))

    html = detail(login("outreach"), partner).content.decode()

    assert html.count("<td>Received</td>") == 50
    assert "Feb 20, 2025" in html  # the newest (day 50)
    assert "Jan 1, 2025" not in html  # the oldest, 51st


def test_merge_history_says_what_moved(login, make_partner, make_contact, make_referral,
                                       users, local_dt):
    survivor = make_partner("John Smith, MD")
    duplicate = make_partner("Dr. Jon Smith")
    make_referral(source_partner=duplicate)
    make_referral(source_partner=duplicate)
    make_contact(duplicate)
    with time_machine.travel(local_dt(2025, 4, 2), tick=False):
        partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])

    html = detail(login("outreach"), survivor).content.decode()

    assert ("Merged “Dr. Jon Smith” on Apr 2, 2025 by Mona; 2 referrals, 1 contact moved."
            in html)


def test_a_merged_partners_page_redirects_to_the_survivor_through_the_chain(
    login, make_partner, users
):
    first, second, third = (make_partner(n) for n in ("Jon Smith", "J. Smith", "John Smith"))
    partner_merge(survivor=second, duplicate=first, by=users["manager"])
    partner_merge(survivor=third, duplicate=second, by=users["manager"])

    response = detail(login("outreach"), first)

    assert response.status_code == 302
    assert response.url == reverse("partners:detail", args=[third.pk])


def test_unknown_partner_is_404(login):
    assert login("outreach").get(reverse("partners:detail", args=[999999])).status_code == 404


def test_editors_see_edit_and_merge_links_others_do_not(login, make_partner):
    partner = make_partner()
    edit, merge = (reverse(f"partners:{n}", args=[partner.pk]) for n in ("edit", "merge"))

    manager = detail(login("manager"), partner).content.decode()
    coordinator = detail(login("coordinator"), partner).content.decode()
    front_desk = detail(login("front_desk"), partner).content.decode()

    assert edit in manager and merge in manager
    assert edit in coordinator and merge not in coordinator
    assert edit not in front_desk and merge not in front_desk
