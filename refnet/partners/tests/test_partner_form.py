"""Creating and editing partners through the form: tags, field errors, typed values kept."""

import pytest
from django.urls import reverse

from refnet.partners.models import Partner, Tag

from .conftest import BAD_NPI, VALID_NPI

CREATE = reverse("partners:create")


def form_data(**overrides) -> dict:
    data = {
        "name": "Maria Lopez, DPT", "kind": "clinician", "category": "", "organization": "",
        "npi": VALID_NPI, "taxonomy_code": "", "phone": "217-555-0101", "fax": "", "email": "",
        "website": "", "address_line": "", "city": "Springfield", "state": "IL",
        "zip_code": "", "stage": "prospect", "owner": "", "preferred_channel": "email",
        "cadence_days": "90", "tags_text": "", "notes": "",
    }
    data.update(overrides)
    return data


def test_create_saves_and_opens_the_new_partner(login, users):
    Tag.objects.create(name="Sports medicine")
    client = login("outreach")

    response = client.post(CREATE, form_data(tags_text="sports medicine, Lunch and learn, ,"))

    partner = Partner.objects.get(name="Maria Lopez, DPT")
    assert response.status_code == 302
    assert response.url == reverse("partners:detail", args=[partner.pk])
    assert partner.npi == VALID_NPI and partner.city == "Springfield"
    # The existing tag is reused despite the different case; the new one is made.
    assert sorted(t.name for t in partner.tags.all()) == ["Lunch and learn", "Sports medicine"]
    assert Tag.objects.count() == 2
    assert partner.history.first().history_user == users["outreach"]
    page = client.get(response.url).content.decode()
    assert "Added “Maria Lopez, DPT”" in page


def test_create_with_a_bad_npi_names_the_field_and_keeps_what_was_typed(login):
    response = login("outreach").post(
        CREATE, form_data(npi=BAD_NPI, tags_text="brand new tag")
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert not Partner.objects.exists()
    assert not Tag.objects.exists()
    assert '<a href="#id_npi">NPI</a>: This NPI&#x27;s check digit is wrong' in html
    assert 'id="id_npi_error"' in html
    assert f'value="{BAD_NPI}"' in html
    assert 'value="Maria Lopez, DPT"' in html
    assert 'value="brand new tag"' in html


def test_model_rules_land_on_the_field_they_concern(login):
    response = login("outreach").post(
        CREATE, form_data(kind="local_business", name="Iron Temple Gym")
    )

    assert not Partner.objects.exists()
    assert response.context["form"].errors["npi"] == [
        "NPI and taxonomy are for clinicians and practices."
    ]
    assert '<a href="#id_npi">NPI</a>' in response.content.decode()


def test_a_missing_name_is_reported_on_the_name_field(login):
    response = login("outreach").post(CREATE, form_data(name=""))

    assert '<a href="#id_name">Name</a>: This field is required.' in response.content.decode()


def test_a_website_without_a_scheme_is_saved_as_https(login):
    login("outreach").post(CREATE, form_data(website="smithspine.example"))

    assert Partner.objects.get().website == "https://smithspine.example"


def test_a_business_gets_the_other_category_when_none_is_given(login):
    login("outreach").post(CREATE, form_data(kind="local_business", name="Corner Shop", npi=""))

    assert Partner.objects.get(name="Corner Shop").category == "other"


@pytest.fixture
def partner(make_partner):
    partner = make_partner("John Smith, MD", npi=VALID_NPI, city="Springfield")
    partner.tags.add(Tag.objects.create(name="Spine"))
    return partner


def test_edit_form_shows_the_current_values_and_tags(login, partner):
    html = login("coordinator").get(reverse("partners:edit", args=[partner.pk])).content.decode()

    assert 'value="John Smith, MD"' in html
    assert 'value="Spine"' in html


def test_edit_saves_changes_and_replaces_the_tags(login, partner, users):
    response = login("coordinator").post(
        reverse("partners:edit", args=[partner.pk]),
        form_data(name="John Smith, MD", city="Chatham", stage="active", tags_text="Knees"),
    )

    partner.refresh_from_db()
    assert response.url == reverse("partners:detail", args=[partner.pk])
    assert (partner.city, partner.stage) == ("Chatham", "active")
    assert [t.name for t in partner.tags.all()] == ["Knees"]
    assert partner.history.first().history_user == users["coordinator"]


def test_edit_with_a_bad_npi_keeps_the_typed_values_and_changes_nothing(login, partner):
    response = login("coordinator").post(
        reverse("partners:edit", args=[partner.pk]),
        form_data(name="Johnny Smith", npi=BAD_NPI, city="Chatham"),
    )

    html = response.content.decode()
    partner.refresh_from_db()
    assert response.status_code == 200
    assert (partner.name, partner.npi, partner.city) == ("John Smith, MD", VALID_NPI,
                                                         "Springfield")
    assert "check digit is wrong" in html
    assert 'value="Johnny Smith"' in html and 'value="Chatham"' in html
    # The heading still names the partner as stored, not as typed.
    assert "<h1>Edit John Smith, MD</h1>" in html


def test_a_partner_cannot_be_its_own_organization(login, make_partner):
    practice = make_partner("Prairie Family Practice", kind="medical_practice")

    response = login("coordinator").post(
        reverse("partners:edit", args=[practice.pk]),
        form_data(name="Prairie Family Practice", kind="medical_practice", npi="",
                  organization=str(practice.pk)),
    )

    assert "organization" in response.context["form"].errors
    practice.refresh_from_db()
    assert practice.organization is None


def test_editing_a_merged_partner_leads_to_the_survivor(login, make_partner, users):
    from refnet.partners.services import partner_merge

    survivor, duplicate = make_partner("John Smith, MD"), make_partner("Jon Smith")
    partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])

    response = login("coordinator").post(
        reverse("partners:edit", args=[duplicate.pk]), form_data(name="Renamed")
    )

    assert response.url == reverse("partners:detail", args=[survivor.pk])
    duplicate.refresh_from_db()
    assert duplicate.name == "Jon Smith"
