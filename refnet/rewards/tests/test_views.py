"""The rewards pages: logging with the live check, overrides by role, the program page,
the caps table, the partner panel, the report and its CSV; outreach never sees a patient."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from refnet.rewards.models import Appreciation, AppreciationStatus, CapKey, ComplianceCap
from refnet.rewards.services import program_get

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
NOON = datetime(2026, 6, 15, 12, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture(autouse=True)
def mid_june_2026():
    with time_machine.travel(NOON, tick=False):
        yield


def _post(client, partner, **fields):
    data = {"kind": "gift", "description": "Fruit basket", "value": "20.00",
            "given_on": "2026-06-15", **fields}
    return client.post(reverse("rewards:log", args=[partner.pk]), data)


def test_within_cap_is_recorded_and_redirects(login, clinician):
    response = _post(login("coordinator"), clinician, value="500.00")
    assert response.status_code == 302
    row = Appreciation.objects.get()
    assert row.status == AppreciationStatus.ISSUED and row.logged_by.username == "cora"
    html = login("coordinator").get(response["Location"]).content.decode()
    assert "Recorded: gift worth $500.00 to John Smith, MD (within cap)." in html
    assert "$500.00 given in 2026 of $535.00 cap ($35.00 left)" in html


def test_over_cap_is_refused_shown_and_recorded(login, clinician, issue):
    issue(clinician, "500.00")
    response = _post(login("coordinator"), clinician, value="40.00")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Refused, and the attempt is recorded" in html
    assert "$35.00 is left and this is $40.00" in html
    assert Appreciation.objects.filter(status=AppreciationStatus.REFUSED).count() == 1
    assert "Manager override" not in html  # the coordinator has no override field


def test_manager_sees_the_override_field_and_overrides(login, clinician, issue):
    issue(clinician, "500.00")
    client = login("manager")
    assert "Manager override: reason" in client.get(
        reverse("rewards:log", args=[clinician.pk])).content.decode()
    response = _post(client, clinician, value="40.00", override_reason="Retirement dinner")
    assert response.status_code == 302
    row = Appreciation.objects.latest("id")
    assert row.decision == "override" and row.override_by.username == "mona"


def test_outreach_override_field_posted_anyway_is_ignored(login, clinician, issue):
    issue(clinician, "500.00")
    _post(login("outreach"), clinician, value="40.00", override_reason="sneaky")
    row = Appreciation.objects.latest("id")
    assert row.status == AppreciationStatus.REFUSED and row.override_reason == ""


def test_bad_input_names_the_field_and_writes_nothing(login, clinician):
    response = _post(login("coordinator"), clinician, value="12.345", description="")
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter the amount in dollars and cents (two decimals)." in html
    assert "Describe what was given" in html
    assert not Appreciation.objects.exists()


def test_live_check_says_why_before_submitting(login, beneficiary_referrer, program_on):
    client = login("coordinator")
    url = reverse("rewards:check", args=[beneficiary_referrer.pk])
    base = {"kind": "gift", "description": "", "given_on": "2026-06-15"}
    html = client.post(url, {**base, "value": "15.00"}, **HTMX).content.decode()
    assert "Within the cap." in html and "$75.00 left" in html
    html = client.post(url, {**base, "value": "15.01"}, **HTMX).content.decode()
    assert "Would be refused unless a manager overrides" in html
    assert "at most $15.00 per item; this is $15.01." in html
    html = client.post(url, {**base, "value": "5", "is_cash_equivalent": "on"},
                       **HTMX).content.decode()
    assert "Would be refused:" in html and "cannot be overridden" in html
    html = client.post(url, {**base, "value": ""}, **HTMX).content.decode()
    assert "Type the value" in html and "Enter the value" not in html
    html = client.post(url, {**base, "value": "abc"}, **HTMX).content.decode()
    assert "Enter an amount in dollars" in html
    assert not Appreciation.objects.exists()  # checking never records


def test_outreach_never_sees_the_patient_or_the_referral(login, make_patient, make_partner,
                                                         make_referral, program_on, issue):
    patient = make_patient("Rosa", "Okonkwo", federal_program_beneficiary=True)
    referrer = make_partner("Rosa O.", kind="patient_referrer", patient=patient)
    referral = make_referral(patient=make_patient("Fred", "Friendly"), source_partner=referrer)
    issue(referrer, "10.00", referral=referral, given_on=date(2026, 6, 1))
    client = login("outreach")
    for url in (reverse("rewards:log", args=[referrer.pk]), reverse("rewards:index"),
                reverse("rewards:report"), reverse("partners:detail", args=[referrer.pk])):
        html = client.get(url).content.decode()
        assert "Rosa O." in html, url
        for secret in ("Okonkwo", "Friendly", f"referral #{referral.pk}", "Medicare/Medicaid",
                       "75.00"):  # a $75 cap would say the patient is a beneficiary
            assert secret not in html, (url, secret)
    csv_text = client.get(reverse("rewards:report_csv")).content.decode()
    assert "Rosa O." in csv_text and "75.00" not in csv_text
    assert 'name="referral"' not in client.get(
        reverse("rewards:log", args=[referrer.pk])).content.decode()
    # A coordinator (who may see referrals) can pick it, by number only.
    html = login("coordinator").get(reverse("rewards:log", args=[referrer.pk])).content.decode()
    assert f"Referral #{referral.pk}, received" in html and "Friendly" not in html


def test_program_page_sign_off_by_role(login):
    url = reverse("rewards:program")
    html = login("coordinator").get(url).content.decode()
    assert "Off" in html and "Sign off and turn on" not in html
    assert login("coordinator").post(reverse("rewards:program_enable"),
                                     {"sign_off_text": "x"}).status_code == 403
    client = login("manager")
    response = client.post(reverse("rewards:program_enable"), {"sign_off_text": "  "})
    assert response.status_code == 400
    assert "needs a compliance sign-off" in response.content.decode()
    assert program_get().enabled is False
    response = client.post(reverse("rewards:program_enable"),
                           {"sign_off_text": "Counsel reviewed <b>2026</b>.",
                            "reward_description": "Coffee card", "reward_value": "10"})
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert "signed off by Mona" in html and "Counsel reviewed &lt;b&gt;2026&lt;/b&gt;." in html
    client.post(reverse("rewards:program_disable"))
    assert program_get().enabled is False


def test_caps_page_and_edit(login):
    html = login("outreach").get(reverse("rewards:caps")).content.decode()
    assert "$535.00" in html and "81 FR 88368" in html and "Edit" not in html
    cap = ComplianceCap.objects.get(key=CapKey.PHYSICIAN_YEAR, year=2026)
    url = reverse("rewards:cap_edit", args=[cap.pk])
    assert login("outreach").post(url, {"amount": "1"}).status_code == 403
    client = login("admin")
    response = client.post(url, {"amount": "abc", "source": "x", "reviewed_on": "2026-06-01"})
    assert response.status_code == 400 and "Enter an amount in dollars" in response.content.decode()
    response = client.post(url, {"amount": "540.00", "source": "CMS", "reviewed_on": "2026-06-01"})
    assert response.status_code == 302
    cap.refresh_from_db()
    assert cap.amount == 540 and cap.reviewed_on == date(2026, 6, 1)
    response = client.post(reverse("rewards:cap_add"), {"key": "physician_year", "year": "",
                                                        "amount": "550", "source": "CMS",
                                                        "reviewed_on": "2026-06-01"})
    assert response.status_code == 400 and "enter the year" in response.content.decode()


def test_partner_panel(login, clinician, issue):
    issue(clinician, "500.00", description="Holiday <script>alert(1)</script>")
    html = login("outreach").get(reverse("partners:detail", args=[clinician.pk])).content.decode()
    assert "$500.00 given in 2026 of $535.00 cap ($35.00 left)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    html = login("front_desk").get(reverse("partners:detail", args=[clinician.pk])
                                   ).content.decode()
    assert 'id="rewards"' not in html


@pytest.fixture
def report_data(clinician, gym, beneficiary_referrer, program_on, issue, users, make_partner):
    issue(clinician, "500.00", given_on=date(2026, 2, 1))
    issue(clinician, "60.00", override_reason="Dinner", by=users["manager"])  # 560 > 535
    issue(clinician, "10.00")  # refused
    issue(clinician, "100.00", given_on=date(2025, 12, 31))  # another year
    issue(gym, "120.00")
    issue(gym, "30.00", is_cash_equivalent=True)
    issue(beneficiary_referrer, "15.00")
    issue(beneficiary_referrer, "20.00")  # refused (item)
    issue(make_partner("=HYPERLINK(\"http://x\")", kind="local_business"), "5.00")


def test_report_totals(login, report_data):
    html = login("outreach").get(reverse("rewards:report") + "?year=2026").content.decode()
    assert "Value given per recipient, 2026" in html
    assert '<td class="num">$560.00</td>' in html and "over cap" in html
    assert '<td class="num">over by $25.00</td>' in html
    assert '<td class="num">$150.00</td>' in html
    assert "Total</td><td class=\"num\">$730.00</td>" in html  # 560 + 150 + 15 + 5
    html = login("outreach").get(reverse("rewards:report") + "?year=2026&kind=local_business"
                                 ).content.decode()
    assert "$560.00" not in html and "Total</td><td class=\"num\">$155.00</td>" in html
    html = login("outreach").get(reverse("rewards:report") + "?year=20x6").content.decode()
    assert "is not a year" in html


def test_report_csv(login, report_data):
    response = login("manager").get(reverse("rewards:report_csv") + "?year=2026")
    assert response["Content-Disposition"] == 'attachment; filename="rewards-2026.csv"'
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Recipient,Kind,Year,Issued,Given ($),Cap ($)")
    assert '"John Smith, MD",Clinician,2026,2,560.00,535.00,-25.00,yes,1,1,10.00' in lines
    assert any(line.startswith('"\'=HYPERLINK(""http://x"")"') for line in lines)
    assert "Rosa Medicare,Patient referrer,2026,1,15.00,75.00,60.00,,0,1,20.00" in lines
    assert "Iron Gym,Local business,2026,2,150.00,,,,0,0,0.00" in lines
    assert len(lines) == 5  # header + 4 recipients in 2026


def test_who_may_open_what(login, clinician):
    assert login("front_desk").get(reverse("rewards:index")).status_code == 403
    assert login("front_desk").get(reverse("rewards:log", args=[clinician.pk])
                                   ).status_code == 403
    for role in ("coordinator", "outreach", "manager", "admin"):
        assert login(role).get(reverse("rewards:report")).status_code == 200, role
    assert login("coordinator").get(reverse("rewards:cap_add")).status_code == 403
    assert login("manager").get(reverse("rewards:cap_add")).status_code == 200


def test_find_a_partner_then_the_signed_off_reward_is_prefilled(login, private_referrer,
                                                                program_on):
    html = login("outreach").get(reverse("rewards:index") + "?q=Pat+Private").content.decode()
    assert reverse("rewards:log", args=[private_referrer.pk]) in html
    html = login("outreach").get(reverse("rewards:log", args=[private_referrer.pk])
                                 ).content.decode()
    assert 'value="Coffee voucher"' in html and 'value="10.00"' in html
    assert "program is off" not in html
