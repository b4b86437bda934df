"""The starter plan follows the practice's situation."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from refnet.followups.models import FollowUp, FollowUpKind
from refnet.growth.models import Cadence, Goal, PlanItem
from refnet.growth.services import PracticeSituation, plan_start, practice_situation


def _titles():
    return {goal.title: [(i.title, i.owner.username, i.cadence, i.next_due)
                         for i in goal.items.all()] for goal in Goal.objects.all()}


def test_a_new_practice_with_unowned_partners_and_no_gyms(users):
    situation = PracticeSituation(partners=5, partners_without_owner=2, gym_partners=0,
                                  quiet_partners=0, has_thank_you_rule=False)
    plan_start(by=users["manager"], situation=situation, today=date(2025, 3, 10))
    assert _titles() == {
        "Capture and thank every referral": [
            ("Train the front desk to ask “Who can we thank?” of every new patient",
             "mona", Cadence.ONCE, date(2025, 3, 17)),
            ("Set up the thank-you rules: who thanks each kind of referrer, within how "
             "many days", "mona", Cadence.ONCE, date(2025, 3, 24)),
            ("Run the monthly referral report and go through it with the team", "mona",
             Cadence.MONTHLY, date(2025, 4, 1)),
        ],
        "Every partner has an accountable person": [
            ("Assign the accountable person for the 2 partners without one", "mona",
             Cadence.ONCE, date(2025, 3, 24)),
        ],
        "Grow the referral network": [
            ("Contact three gyms' training supervisors", "otto", Cadence.MONTHLY,
             date(2025, 3, 17)),
            ("Visit or call one referring clinician's office", "otto", Cadence.WEEKLY,
             date(2025, 3, 17)),
        ],
    }
    grow = Goal.objects.get(title="Grow the referral network")
    assert (grow.target_number, grow.target_metric) == (3, "gym partners")
    # every item is a step in its owner's inbox
    assert FollowUp.objects.filter(kind=FollowUpKind.PLAN_STEP).count() == 6
    assert FollowUp.objects.filter(assignee=users["outreach"]).count() == 2


def test_an_established_practice_with_quiet_partners(users):
    situation = PracticeSituation(partners=40, partners_without_owner=0, gym_partners=4,
                                  quiet_partners=1, has_thank_you_rule=True)
    plan_start(by=users["admin"], situation=situation, today=date(2025, 12, 20))
    assert _titles() == {
        "Capture and thank every referral": [
            ("Train the front desk to ask “Who can we thank?” of every new patient",
             "adam", Cadence.ONCE, date(2025, 12, 27)),
            ("Run the monthly referral report and go through it with the team", "adam",
             Cadence.MONTHLY, date(2026, 1, 1)),
        ],
        "Grow the referral network": [
            ("Visit or call one referring clinician's office", "otto", Cadence.WEEKLY,
             date(2025, 12, 27)),
            ("Review the 1 partner gone quiet and plan a check-in with each", "otto",
             Cadence.MONTHLY, date(2026, 1, 1)),
        ],
    }
    assert Goal.objects.get(title="Grow the referral network").target_number is None


def test_a_second_start_is_refused(users):
    situation = PracticeSituation(1, 0, 0, 0, True)
    plan_start(by=users["manager"], situation=situation)
    count = PlanItem.objects.count()
    with pytest.raises(ValidationError):
        plan_start(by=users["manager"], situation=situation)
    assert PlanItem.objects.count() == count


def test_the_situation_is_read_from_the_data(users, make_partner):
    make_partner(name="Iron Gym", kind="local_business", category="gym_trainer",
                 stage="active", owner=users["outreach"])
    make_partner(name="Dr. A", kind="clinician", stage="dormant")
    make_partner(name="Dr. B", kind="clinician", stage="declined")
    situation = practice_situation()
    assert situation == PracticeSituation(partners=2, partners_without_owner=1,
                                          gym_partners=1, quiet_partners=1,
                                          has_thank_you_rule=False)
