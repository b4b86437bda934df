"""The rule settings pages: managers edit rules and per-partner exceptions; others may not."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from refnet.followups.models import FollowUpRule, PartnerRuleOverride, RuleKind


@pytest.fixture
def thank_rule(db):
    return FollowUpRule.objects.get(kind=RuleKind.THANK_REFERRER, partner_kind="")


def test_rules_page_lists_the_defaults(login):
    response = login("manager").get(reverse("followups:rules"))
    assert response.status_code == 200
    for kind in RuleKind:
        assert escape(kind.label) in response.content.decode()


def test_editing_a_rule_saves_it_with_history(login, thank_rule, users):
    client = login("manager")
    response = client.post(reverse("followups:rule_edit", args=[thank_rule.pk]),
                           {"enabled": "on", "mode": "auto", "due_days": "4"})
    assert response.status_code == 302
    thank_rule.refresh_from_db()
    assert (thank_rule.mode, thank_rule.due_days, thank_rule.updated_by) == \
        ("auto", 4, users["manager"])
    assert thank_rule.history.first().history_user == users["manager"]
    page = client.get(reverse("followups:rule_edit", args=[thank_rule.pk])).content.decode()
    assert "Mona" in page  # the change history names who changed it


def test_bad_due_days_is_refused_naming_the_field(login, thank_rule):
    response = login("admin").post(reverse("followups:rule_edit", args=[thank_rule.pk]),
                                   {"enabled": "on", "mode": "remind", "due_days": "99"})
    assert response.status_code == 400
    assert "Due after (business days)" in response.content.decode()
    thank_rule.refresh_from_db()
    assert thank_rule.due_days == 2


def test_ask_source_cannot_be_automatic(login):
    rule = FollowUpRule.objects.get(kind=RuleKind.ASK_SOURCE, partner_kind="")
    response = login("manager").post(reverse("followups:rule_edit", args=[rule.pk]),
                                     {"enabled": "on", "mode": "auto", "due_days": "1"})
    assert response.status_code == 400
    rule.refresh_from_db()
    assert rule.mode == "remind"


def test_manager_adds_a_rule_for_a_partner_kind_once(login):
    client = login("manager")
    data = {"kind": "thank_referrer", "partner_kind": "local_business", "enabled": "on",
            "mode": "remind", "due_days": "5"}
    assert client.post(reverse("followups:rule_add"), data).status_code == 302
    rule = FollowUpRule.objects.get(kind="thank_referrer", partner_kind="local_business")
    assert rule.due_days == 5
    again = client.post(reverse("followups:rule_add"), data)
    assert again.status_code == 400
    assert "already a rule" in again.content.decode()


def test_progress_options_only_on_progress_rules(login):
    progress = FollowUpRule.objects.get(kind=RuleKind.PROGRESS_REPORT, partner_kind="")
    client = login("manager")
    assert "Every N visits" in client.get(
        reverse("followups:rule_edit", args=[progress.pk])).content.decode()
    response = client.post(reverse("followups:rule_edit", args=[progress.pk]), {
        "enabled": "on", "mode": "remind", "due_days": "2", "progress_every_visits": "6",
        "progress_at_discharge": "on"})
    assert response.status_code == 302
    progress.refresh_from_db()
    assert (progress.enabled, progress.progress_every_visits,
            progress.progress_after_evaluation) == (True, 6, False)


@pytest.mark.parametrize("role", ["front_desk", "outreach", "coordinator"])
def test_only_managers_and_admins_edit_rules(login, role, thank_rule, make_partner):
    client = login(role)
    partner = make_partner()
    assert client.get(reverse("followups:rules")).status_code == 403
    assert client.post(reverse("followups:rule_edit", args=[thank_rule.pk]),
                       {"enabled": "on", "mode": "auto", "due_days": "1"}).status_code == 403
    assert client.get(reverse("followups:partner_rules", args=[partner.pk])).status_code == 403
    thank_rule.refresh_from_db()
    assert thank_rule.mode == "remind"


def test_partner_override_page_sets_and_clears_an_exception(login, make_partner):
    partner = make_partner(name="Override Me, MD")
    client = login("manager")
    url = reverse("followups:partner_rules", args=[partner.pk])
    assert "Override Me, MD" in client.get(url).content.decode()
    response = client.post(url, {"kind": "thank_referrer", "thank_referrer-setting": "custom",
                                 "thank_referrer-mode": "auto",
                                 "thank_referrer-due_days": "3"})
    assert response.status_code == 302
    override = PartnerRuleOverride.objects.get(partner=partner)
    assert (override.enabled, override.mode, override.due_days) == (True, "auto", 3)
    client.post(url, {"kind": "check_in", "check_in-setting": "off"})
    assert not PartnerRuleOverride.objects.get(partner=partner, kind="check_in").enabled
    page = client.get(url).content.decode()
    assert "on, auto, 3 business days" in page
    client.post(url, {"kind": "thank_referrer", "thank_referrer-setting": "rule"})
    assert not PartnerRuleOverride.objects.filter(partner=partner,
                                                  kind="thank_referrer").exists()


def test_partner_page_links_to_its_rules_for_managers_only(login, make_partner):
    partner = make_partner()
    link = reverse("followups:partner_rules", args=[partner.pk])
    assert link in login("manager").get(
        reverse("partners:detail", args=[partner.pk])).content.decode()
    assert link not in login("outreach").get(
        reverse("partners:detail", args=[partner.pk])).content.decode()
