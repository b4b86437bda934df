"""The referral program's sign-off and the caps table: seeded defaults, edits with
history, a new year's figure."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from refnet.rewards.checks import program_enabled, reward_check
from refnet.rewards.models import CapKey, ComplianceCap, ReferralProgram
from refnet.rewards.services import cap_save, program_disable, program_enable, program_get

pytestmark = pytest.mark.django_db


def test_defaults_are_seeded_from_compliance_md():
    caps = {(c.key, c.year): c.amount for c in ComplianceCap.objects.all()}
    assert caps == {
        ("beneficiary_item", None): Decimal("15.00"),
        ("beneficiary_year", None): Decimal("75.00"),
        ("physician_year", 2024): Decimal("507.00"),
        ("physician_year", 2025): Decimal("519.00"),
        ("physician_year", 2026): Decimal("535.00"),
        ("physician_incidental", 2024): Decimal("44.00"),
    }
    assert all(c.source and c.reviewed_on for c in ComplianceCap.objects.all())
    assert program_get().enabled is False


def test_enabling_without_sign_off_text_is_refused(users):
    with pytest.raises(ValidationError) as err:
        program_enable(sign_off_text="   ", by=users["manager"])
    assert "sign_off_text" in err.value.message_dict
    assert ReferralProgram.objects.get(pk=1).enabled is False
    assert not program_enabled()


def test_only_compliance_editors_may_enable(users):
    for role in ("coordinator", "outreach"):
        with pytest.raises(PermissionDenied):
            program_enable(sign_off_text="ok", by=users[role])
    assert not program_enabled()


def test_sign_off_records_who_when_text_and_history(users):
    program = program_enable(sign_off_text="Counsel approved on 2026-03-01.",
                             reward_value="10", by=users["admin"])
    assert program.enabled and program.signed_by == users["admin"] and program.signed_at
    assert program.reward_value == Decimal("10.00")
    program_disable(by=users["manager"])
    program.refresh_from_db()
    assert not program.enabled and program.disabled_by == users["manager"]
    # The sign-off stays in the history after the program is turned off.
    versions = list(program.history.order_by("history_date"))
    assert [v.enabled for v in versions][-2:] == [True, False]
    assert versions[-2].sign_off_text == "Counsel approved on 2026-03-01."
    assert versions[-1].history_user == users["manager"]


def test_editing_a_cap_changes_the_check_and_keeps_history(users, clinician):
    cap = ComplianceCap.objects.get(key=CapKey.PHYSICIAN_YEAR, year=2026)
    cap_save(cap=cap, amount="540.00", reviewed_on=date(2026, 11, 20), by=users["admin"])
    assert reward_check(clinician, Decimal("540"), "gift", False, date(2026, 5, 1)).within
    assert [h.amount for h in cap.history.order_by("history_date")] == [Decimal("535.00"),
                                                                        Decimal("540.00")]
    assert cap.history.latest().history_user == users["admin"]


def test_adding_next_years_cap(users, clinician):
    assert not reward_check(clinician, Decimal("1"), "gift", False, date(2027, 2, 1)).within
    cap_save(key=CapKey.PHYSICIAN_YEAR, year=2027, amount="550", source="CMS CY2027",
             reviewed_on=date(2026, 11, 26), by=users["manager"])
    assert reward_check(clinician, Decimal("550"), "gift", False, date(2027, 2, 1)).within


@pytest.mark.parametrize("fields, field", [
    ({"key": CapKey.PHYSICIAN_YEAR, "year": None}, "year"),
    ({"key": CapKey.BENEFICIARY_ITEM, "year": 2026}, "year"),
    ({"key": CapKey.PHYSICIAN_YEAR, "year": 2026}, "__all__"),  # already there
    ({"key": CapKey.PHYSICIAN_YEAR, "year": 2030, "amount": "-5"}, "amount"),
])
def test_bad_caps_are_refused(users, fields, field):
    data = {"amount": "10", "source": "x", "reviewed_on": date(2026, 1, 1), **fields}
    before = ComplianceCap.objects.count()
    with pytest.raises(ValidationError) as err:
        cap_save(by=users["admin"], **data)
    assert field in err.value.message_dict
    assert ComplianceCap.objects.count() == before


def test_only_compliance_editors_change_caps(users):
    cap = ComplianceCap.objects.get(key=CapKey.BENEFICIARY_ITEM)
    with pytest.raises(PermissionDenied):
        cap_save(cap=cap, amount="100", by=users["outreach"])
    cap.refresh_from_db()
    assert cap.amount == Decimal("15.00")
