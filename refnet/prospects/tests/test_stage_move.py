"""Moving a partner on the pipeline: who and when, the partner's own history, refusals."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from refnet.partners.models import Partner
from refnet.partners.services import partner_merge
from refnet.prospects.models import StageChange
from refnet.prospects.services import StaleStage, partner_stage_move

pytestmark = pytest.mark.django_db

NOV_3 = datetime(2025, 11, 3, 15, 30, tzinfo=UTC)


def test_move_records_who_when_and_updates_the_partner(make_partner, users):
    partner = make_partner("Peak Fitness Gym", kind="local_business", category="gym_trainer")
    change = partner_stage_move(partner=partner, to_stage="contacted", by=users["outreach"],
                                note="Met the manager", expected_from="prospect", now=NOV_3)
    assert (change.from_stage, change.to_stage, change.by, change.at, change.note) == (
        "prospect", "contacted", users["outreach"], NOV_3, "Met the manager")
    partner.refresh_from_db()
    assert partner.stage == "contacted"
    latest = partner.history.first()
    assert (latest.stage, latest.history_user) == ("contacted", users["outreach"])


def test_unknown_stage_is_refused(make_partner, users):
    partner = make_partner()
    with pytest.raises(ValidationError) as e:
        partner_stage_move(partner=partner, to_stage="won", by=users["outreach"])
    assert "'won' is not a stage" in e.value.messages[0]
    assert not StageChange.objects.exists()
    assert Partner.objects.get(pk=partner.pk).stage == "prospect"


def test_stale_from_stage_names_who_moved_it(make_partner, users):
    partner = make_partner("Riverside Family Medicine", kind="medical_practice")
    partner_stage_move(partner=partner, to_stage="contacted", by=users["manager"],
                       expected_from="prospect", now=NOV_3)
    # Otto's board still shows the card in Prospect and he moves it to Declined.
    stale = Partner.objects.get(pk=partner.pk)
    stale.stage = "prospect"
    with pytest.raises(StaleStage) as e:
        partner_stage_move(partner=stale, to_stage="declined", by=users["outreach"],
                           expected_from="prospect")
    message = e.value.messages[0]
    assert message.startswith("“Riverside Family Medicine” is already in Contacted (moved "
                              "by Mona on Nov 3 at ")
    assert message.endswith("nothing was changed.")
    assert Partner.objects.get(pk=partner.pk).stage == "contacted"
    assert StageChange.objects.count() == 1


def test_moving_to_the_same_stage_is_refused(make_partner, users):
    partner = make_partner()
    with pytest.raises(ValidationError, match="already in Prospect"):
        partner_stage_move(partner=partner, to_stage="prospect", by=users["outreach"])


def test_merged_partner_cannot_be_moved(make_partner, users):
    survivor, duplicate = make_partner("John Smith, MD"), make_partner("Jon Smith MD")
    partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])
    with pytest.raises(ValidationError, match="was merged into another partner"):
        partner_stage_move(partner=duplicate, to_stage="contacted", by=users["outreach"])
