"""The referrals list: filters, pagination, columns."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from refnet.practice.models import ServiceLine
from refnet.referrals.models import Referral, ReferralStatus
from refnet.referrals.services import referral_record, referral_transition


def local(*args: int) -> datetime:
    return timezone.make_aware(datetime(*args))


def shown(response) -> list[str]:
    """Patient names in the order the list shows them."""
    return [str(r.patient) for r in response.context["page"]]


@pytest.fixture
def list_page(login):
    def get(role: str = "coordinator", **params):
        return login(role).get(reverse("referrals:list"), params)

    return get


def test_shows_columns_newest_first(list_page, make_referral, make_patient, service_line,
                                    users):
    older = make_referral(patient=make_patient("Ann", "Older"), received_at=local(2025, 3, 1, 9))
    make_referral(patient=make_patient("Bea", "Newer"), received_at=local(2025, 3, 2, 9),
                  service_line=service_line)
    Referral.objects.filter(pk=older.pk).update(assigned_to=users["coordinator"])

    response = list_page()

    assert shown(response) == ["Bea Newer", "Ann Older"]
    html = response.content.decode()
    for text in ["03/02/2025 9:00 AM", "John Smith, MD", "Main Street Clinic", "Physical therapy",
                 "Received", "Cora"]:
        assert text in html
    assert reverse("referrals:patient_detail", args=[older.patient_id]) in html
    assert reverse("referrals:detail", args=[older.pk]) in html
    assert response.context["nav"] == "referrals"


def test_received_times_read_as_on_a_clock_and_names_are_escaped(list_page, make_referral,
                                                                 make_patient):
    for hour, minute in [(0, 5), (12, 30), (15, 7)]:
        make_referral(patient=make_patient("<b>Bo</b>", f"H{hour}"),
                      received_at=local(2025, 3, 1, hour, minute))

    html = list_page().content.decode()

    for text in ["03/01/2025 12:05 AM", "03/01/2025 12:30 PM", "03/01/2025 3:07 PM",
                 'aria-label="Referral #', "&lt;b&gt;Bo&lt;/b&gt; H15"]:
        assert text in html
    assert "<b>Bo" not in html


def test_unresolved_source_shows_badge_with_patients_words(list_page, location, make_patient):
    referral_record(patient=make_patient(), source_unknown=True, source_text="the gym guy",
                    location=location, by=None)

    html = list_page().content.decode()

    assert "Unresolved: ask again" in html
    assert "the gym guy" in html


def test_filter_by_status(list_page, make_referral, make_patient, users):
    make_referral(patient=make_patient("Ann", "Waiting"))
    called = make_referral(patient=make_patient("Bea", "Called"))
    referral_transition(referral=called, to_status=ReferralStatus.CONTACTED,
                        by=users["coordinator"])

    assert shown(list_page(status="contacted")) == ["Bea Called"]
    assert shown(list_page(status="received")) == ["Ann Waiting"]


def test_filter_open_leaves_out_closed(list_page, make_referral, make_patient, users):
    make_referral(patient=make_patient("Ann", "Open"))
    lost = make_referral(patient=make_patient("Bea", "Lost"))
    referral_transition(referral=lost, to_status=ReferralStatus.CLOSED_LOST, outcome="no_response",
                        by=users["coordinator"])

    assert shown(list_page(status="open")) == ["Ann Open"]


def test_filter_by_source_partner_link(list_page, make_referral, make_partner, make_patient):
    smith = make_partner("John Smith, MD")
    gym = make_partner("Peak Fitness", kind="local_business")
    make_referral(patient=make_patient("Ann", "FromSmith"), source_partner=smith)
    make_referral(patient=make_patient("Bea", "FromGym"), source_partner=gym)

    response = list_page(source=gym.pk)

    assert shown(response) == ["Bea FromGym"]
    assert "Only referrals from" in response.content.decode()


def test_filter_by_source_name_search(list_page, make_referral, make_partner, make_patient):
    smith = make_partner("John Smith, MD")
    gym = make_partner("Peak Fitness", kind="local_business")
    make_referral(patient=make_patient("Ann", "FromSmith"), source_partner=smith)
    make_referral(patient=make_patient("Bea", "FromGym"), source_partner=gym)

    assert shown(list_page(source_name="dr jon smith")) == ["Ann FromSmith"]
    nobody = list_page(source_name="Zyxwvut")
    assert shown(nobody) == []
    assert "No source matches “Zyxwvut”" in nobody.content.decode()


def test_filter_by_location(list_page, make_referral, make_patient, other_location):
    make_referral(patient=make_patient("Ann", "Main"))
    make_referral(patient=make_patient("Bea", "West"), location=other_location)

    assert shown(list_page(location=other_location.pk)) == ["Bea West"]


def test_filter_by_service_line(list_page, make_referral, make_patient, service_line):
    make_referral(patient=make_patient("Ann", "Therapy"), service_line=service_line)
    make_referral(patient=make_patient("Bea", "Imaging"),
                  service_line=ServiceLine.objects.create(name="Imaging"))

    assert shown(list_page(service_line=service_line.pk)) == ["Ann Therapy"]


def test_filter_by_received_dates_includes_whole_last_day(list_page, make_referral,
                                                          make_patient):
    make_referral(patient=make_patient("Ann", "Before"), received_at=local(2025, 3, 9, 23, 59))
    make_referral(patient=make_patient("Bea", "First"), received_at=local(2025, 3, 10, 0, 0))
    make_referral(patient=make_patient("Cy", "Late"), received_at=local(2025, 3, 12, 23, 30))
    make_referral(patient=make_patient("Di", "After"), received_at=local(2025, 3, 13, 0, 0))

    response = list_page(received_from="2025-03-10", received_to="2025-03-12")

    assert shown(response) == ["Cy Late", "Bea First"]
    assert shown(list_page(received_from="03/13/2025")) == ["Di After"]


def test_bad_date_is_reported_and_not_used_while_other_filters_apply(
    list_page, make_referral, make_patient, other_location
):
    make_referral(patient=make_patient("Ann", "Main"), received_at=local(2025, 3, 1, 9))
    make_referral(patient=make_patient("Bea", "West"), received_at=local(2025, 3, 2, 9),
                  location=other_location)

    response = list_page(received_from="2025-02-30", location=other_location.pk)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_received_from_error"' in html
    assert "Enter a date like 2025-03-31" in html
    assert 'aria-invalid="true"' in html
    assert shown(response) == ["Bea West"]


def test_to_date_before_from_date_is_reported(list_page, make_referral):
    make_referral(received_at=local(2025, 3, 5, 9))

    response = list_page(received_from="2025-03-10", received_to="2025-03-01")

    assert "This date is before “Received from”" in response.content.decode()
    # The contradictory "to" is dropped; "from" still filters.
    assert shown(response) == []


def test_unresolved_only(list_page, make_referral, make_patient, location):
    make_referral(patient=make_patient("Ann", "Known"))
    referral_record(patient=make_patient("Bea", "Unknown"), source_unknown=True,
                    location=location, by=None)

    assert shown(list_page(unresolved="on")) == ["Bea Unknown"]


def test_paginates_by_fifty_and_keeps_filters(list_page, make_referral, make_patient,
                                              make_partner, location):
    partner = make_partner()
    patient = make_patient()
    made = [make_referral(patient=patient, source_partner=partner,
                          received_at=local(2025, 1, 1, 8) + timezone.timedelta(hours=i))
            for i in range(51)]

    first = list_page(location=location.pk)
    second = list_page(location=location.pk, page=2)

    assert len(first.context["page"]) == 50
    assert first.context["page"][0].pk == made[-1].pk
    assert [r.pk for r in second.context["page"]] == [made[0].pk]
    html = first.content.decode()
    assert "Page 1 of 2" in html
    assert f"?location={location.pk}&amp;page=2" in html


def test_query_count_does_not_grow_with_rows(list_page, make_referral, make_patient,
                                             make_partner, other_location, service_line, users):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            list_page()
        return len(ctx.captured_queries)

    def add(i: int) -> None:
        r = make_referral(patient=make_patient(f"P{i}", "Row"),
                          source_partner=make_partner(f"Partner {i}"),
                          location=other_location, service_line=service_line)
        Referral.objects.filter(pk=r.pk).update(assigned_to=users["coordinator"])

    add(0)
    list_page()  # the first request after login also loads and updates the session
    few = count_queries()
    for i in range(1, 8):
        add(i)

    assert count_queries() == few


def test_counts_up_to_the_cap_then_says_more_than(list_page, make_referral, make_patient,
                                                 make_partner, monkeypatch):
    """Past LIST_COUNT_CAP the list does not count every referral: it says "more than" and
    offers pages up to the cap."""
    from refnet.referrals import selectors

    monkeypatch.setattr(selectors, "LIST_COUNT_CAP", 100)
    patient, partner = make_patient(), make_partner()
    for i in range(100):
        make_referral(patient=patient, source_partner=partner,
                      received_at=local(2025, 1, 1, 8) + timezone.timedelta(hours=i))

    exact = list_page().content.decode()
    make_referral(patient=patient, source_partner=partner, received_at=local(2025, 2, 1, 8))
    first, second = list_page(), list_page(page=2)

    assert "100 referrals, newest first" in exact and "Page 1 of 2" in exact
    html = first.content.decode()
    assert "More than 100 referrals, newest first" in html
    assert "Page 1<" in html and "Page 1 of" not in html
    assert "?page=2" in html
    assert len(second.context["page"]) == 50
    assert "Older" not in second.content.decode()


@pytest.mark.parametrize("columns", ["page", "models"])
@pytest.mark.parametrize("filters", [{"status": "contacted"}, {}, {"location": "loc"}])
def test_a_list_page_is_read_in_order_from_an_index_not_sorted(filters, columns, make_referral,
                                                               make_patient, location):
    """Newest first by (received_at, id), the way every list page asks, straight from an
    index of live referrals: with the index's columns in another order PostgreSQL sorted
    every referral of a status for each page (25 ms at 400,000). The list page reads its
    columns as values, the API reads models: both the same way."""
    from refnet.referrals.selectors import referral_list_values, referrals_list

    patient = make_patient("Ada", "Lovelace")
    for _ in range(30):
        make_referral(patient=patient, location=location)
    kwargs = {"location": location} if filters.get("location") else dict(filters)
    rows = referrals_list(**kwargs)
    query = (referral_list_values(rows) if columns == "page" else rows)[50:75]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "TEMP B-TREE" not in plan, plan
            assert "INDEX referral_live_" in plan, plan
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "Sort" not in plan, plan
            assert "referral_live_" in plan, plan


def test_the_filters_drawn_once_still_follow_the_query_the_locations_and_service_lines(
        list_page, location, other_location, service_line):
    first = list_page(status="contacted").content.decode()
    assert '<option value="contacted" selected>' in first
    assert "Main Street Clinic" in first and "Westside Clinic" in first
    assert "Physical therapy" in first
    scheduled = list_page(status="scheduled").content.decode()
    assert '<option value="scheduled" selected>' in scheduled
    assert '<option value="contacted" selected>' not in scheduled
    other_location.name = "Eastside Clinic"
    other_location.save()
    service_line.name = "Aquatic therapy"
    service_line.save()
    again = list_page(status="contacted").content.decode()
    assert "Eastside Clinic" in again and "Westside Clinic" not in again
    assert "Aquatic therapy" in again and "Physical therapy" not in again
    assert f'<option value="{location.pk}" selected>' in list_page(
        location=location.pk).content.decode()
    wrong = list_page(received_from="2025-13-45").content.decode()
    assert "Enter a date like 2025-03-31" in wrong
    assert "Enter a date like 2025-03-31" not in list_page().content.decode()


@pytest.mark.parametrize("status", ["received", "contacted", "open"])
def test_an_open_status_list_counts_from_the_kept_counts(status, list_page, make_referral,
                                                         make_patient, other_location, users):
    """Filtered by an open status (and a location), the list's count is the one triggers
    keep for the board: exact, removed referrals left out, and no count of the referrals."""
    from refnet.referrals.services import referral_remove

    made = [make_referral(patient=make_patient(f"P{i}", "Count")) for i in range(5)]
    make_referral(patient=make_patient("Q", "Elsewhere"), location=other_location)
    referral_transition(referral=made[0], to_status=ReferralStatus.CONTACTED,
                        by=users["coordinator"])
    referral_transition(referral=made[1], to_status=ReferralStatus.CONTACTED,
                        by=users["coordinator"])
    referral_remove(referral=made[4], by=users["manager"], reason="entered twice")
    location = made[0].location
    expected = {"received": 2, "contacted": 2, "open": 4}[status]

    with CaptureQueriesContext(connection) as queries:
        html = list_page(status=status, location=location.pk).content.decode()
    # Read now: the next request empties the connection's query log.
    captured = [q["sql"] for q in queries.captured_queries]
    counts = [sql for sql in captured if "COUNT(" in sql and "referrals_referral" in sql]
    everywhere = list_page(status=status).content.decode()

    assert f"{expected} referrals, newest first" in html
    assert f"{expected + (status != 'contacted')} referrals, newest first" in everywhere
    assert captured and not counts
