"""The partner directory: filters, typo-tolerant name search, merged partners, 12-month counts."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from refnet.partners.services import partner_merge

URL = reverse("partners:list")


def names_in_order(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<tr id="partner-\d+">\s*<td><a href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def directory(make_partner, users):
    return {
        "smith": make_partner("John Smith, MD", stage="active", owner=users["outreach"],
                              city="Springfield"),
        "gym": make_partner("Iron Temple Gym", kind="local_business", category="gym_trainer",
                            stage="engaged", city="Chatham"),
        "school": make_partner("Lincoln Elementary", kind="community_org",
                               category="school_teacher", stage="prospect"),
        "practice": make_partner("Prairie Family Practice", kind="medical_practice",
                                 stage="active", owner=users["manager"]),
    }


def test_lists_everyone_by_name_with_the_row_facts(login, directory, directory_row):
    response = login("outreach").get(URL)

    assert response.status_code == 200
    assert names_in_order(response) == [
        "Iron Temple Gym", "John Smith, MD", "Lincoln Elementary", "Prairie Family Practice",
    ]
    row = directory_row(response, directory["smith"])
    assert "Clinician" in row and "Active" in row and "Otto" in row and "Springfield" in row
    gym_row = directory_row(response, directory["gym"])
    assert "Local business" in gym_row and "Gym or trainer" in gym_row and "Chatham" in gym_row
    assert response.context["nav"] == "partners"
    assert 'aria-current="page">Partners' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "local_business"}, ["Iron Temple Gym"]),
        ({"category": "school_teacher"}, ["Lincoln Elementary"]),
        ({"stage": "active"}, ["John Smith, MD", "Prairie Family Practice"]),
        ({"stage": "active", "kind": "medical_practice"}, ["Prairie Family Practice"]),
    ],
)
def test_filters_narrow_the_list(login, directory, params, expected):
    response = login("outreach").get(URL, params)

    assert names_in_order(response) == expected


def test_owner_filter(login, directory, users):
    response = login("outreach").get(URL, {"owner": users["manager"].pk})

    assert names_in_order(response) == ["Prairie Family Practice"]


def test_an_unknown_filter_value_is_reported_and_ignored(login, directory):
    response = login("outreach").get(URL, {"kind": "astrologer", "stage": "active"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert names_in_order(response) == ["John Smith, MD", "Prairie Family Practice"]


def test_typo_search_finds_the_partner(login, directory):
    response = login("outreach").get(URL, {"q": "Jon Smyth"})

    assert names_in_order(response) == ["John Smith, MD"]


def test_search_shows_matches_in_rank_order(login, make_partner):
    make_partner("Smithfield Physical Therapy", kind="medical_practice")
    make_partner("Jane Smith, DPT")
    make_partner("Unrelated Orthopedics", kind="medical_practice")

    response = login("outreach").get(URL, {"q": "jane smith"})

    names = names_in_order(response)
    assert names[0] == "Jane Smith, DPT"
    assert "Unrelated Orthopedics" not in names


def test_search_and_filters_combine(login, directory, make_partner):
    make_partner("Smith Strength Gym", kind="local_business", category="gym_trainer")

    response = login("outreach").get(URL, {"q": "smith", "kind": "local_business"})

    assert names_in_order(response) == ["Smith Strength Gym"]


def test_merged_partners_never_appear(login, make_partner, users):
    survivor = make_partner("John Smith, MD")
    duplicate = make_partner("Dr. Jon Smith")
    partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])
    client = login("outreach")

    assert names_in_order(client.get(URL)) == ["John Smith, MD"]
    assert names_in_order(client.get(URL, {"q": "Jon Smith"})) == ["John Smith, MD"]
    assert names_in_order(client.get(URL, {"kind": "clinician"})) == ["John Smith, MD"]


def test_referrals_in_the_last_12_months(login, make_partner, make_referral, directory_row):
    busy = make_partner("Busy Referrer")
    quiet = make_partner("Quiet Referrer")
    now = timezone.now()
    make_referral(source_partner=busy, received_at=now - timedelta(days=3))
    make_referral(source_partner=busy, received_at=now - timedelta(days=300))
    make_referral(source_partner=busy, received_at=now - timedelta(days=400))  # too old
    make_referral(source_partner=quiet, received_at=now - timedelta(days=500))

    response = login("outreach").get(URL)

    assert re.search(r'class="num referrals-12m">2<', directory_row(response, busy))
    assert re.search(r'class="num referrals-12m">0<', directory_row(response, quiet))


def test_referral_counts_take_the_same_queries_for_3_or_12_partners(
    login, make_partner, make_referral, django_assert_max_num_queries
):
    client = login("outreach")
    for i in range(3):
        make_referral(source_partner=make_partner(f"Partner {i:02}"))
    with django_assert_max_num_queries(20) as few:
        client.get(URL)
    for i in range(3, 12):
        make_referral(source_partner=make_partner(f"Partner {i:02}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert len(names_in_order(response)) == 12


def test_fifty_per_page_and_filters_survive_paging(login, make_partner):
    for i in range(52):
        make_partner(f"Clinic {i:03}", kind="medical_practice")
    make_partner("Zed's Gym", kind="local_business", category="gym_trainer")
    client = login("outreach")

    first = client.get(URL, {"kind": "medical_practice"})
    second = client.get(URL, {"kind": "medical_practice", "page": 2})

    assert names_in_order(first) == [f"Clinic {i:03}" for i in range(50)]
    assert names_in_order(second) == ["Clinic 050", "Clinic 051"]
    assert "kind=medical_practice&amp;page=2" in first.content.decode()


def test_new_partner_button_only_for_editors(login, directory):
    create = reverse("partners:create")

    assert create in login("outreach").get(URL).content.decode()
    assert create not in login("front_desk").get(URL).content.decode()
