"""Two rewards to the same clinician at the same moment cannot both pass the year cap."""

import threading
from datetime import date

import pytest
from django.db import connection

from refnet.rewards.models import Appreciation, AppreciationStatus
from refnet.rewards.services import appreciation_issue


@pytest.mark.django_db(transaction=True)
def test_two_issues_at_once_do_not_both_pass_the_cap(clinician, users):
    appreciation_issue(partner=clinician, kind="gift", description="Earlier", value="435.00",
                       given_on=date(2026, 3, 1), by=users["manager"])
    start = threading.Barrier(2)
    errors = []

    def give():
        try:
            start.wait()
            appreciation_issue(partner=clinician, kind="meal", description="Lunch",
                               value="60.00", given_on=date(2026, 4, 1), by=users["manager"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=give) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lunches = Appreciation.objects.filter(description="Lunch")
    # 435 + 60 = 495 fits under 535; 495 + 60 = 555 does not.
    assert sorted(lunches.values_list("status", flat=True)) == [AppreciationStatus.ISSUED,
                                                                 AppreciationStatus.REFUSED]
