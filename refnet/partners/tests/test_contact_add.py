"""Adding a contact from the partner page."""

from django.urls import reverse

from refnet.partners.models import Contact
from refnet.partners.search import partners_search


def test_adding_a_contact_lists_it_and_makes_it_searchable(login, make_partner, users):
    partner = make_partner("Prairie Family Practice", kind="medical_practice")
    client = login("outreach")

    response = client.post(
        reverse("partners:contact_add", args=[partner.pk]),
        {"name": "Janet Okafor", "title": "Office manager", "email": "janet@example.org",
         "is_primary": "on"},
    )

    assert response.status_code == 302
    assert response.url == reverse("partners:detail", args=[partner.pk]) + "#contacts"
    contact = Contact.objects.get(partner=partner)
    assert (contact.name, contact.is_primary) == ("Janet Okafor", True)
    assert contact.history.first().history_user == users["outreach"]
    assert "Janet Okafor" in client.get(response.url).content.decode()
    assert [m.partner_id for m in partners_search("janet okafor")] == [partner.pk]


def test_an_invalid_contact_shows_the_error_and_keeps_the_typed_values(login, make_partner):
    partner = make_partner("Prairie Family Practice", kind="medical_practice")

    response = login("outreach").post(
        reverse("partners:contact_add", args=[partner.pk]),
        {"name": "Janet Okafor", "email": "not-an-email"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert not Contact.objects.exists()
    assert "Enter a valid email address." in html
    assert 'value="Janet Okafor"' in html and 'value="not-an-email"' in html
    assert "<details class=\"add-contact\" open>" in html


def test_contact_add_only_accepts_post(login, make_partner):
    partner = make_partner()

    response = login("outreach").get(reverse("partners:contact_add", args=[partner.pk]))

    assert response.status_code == 405
