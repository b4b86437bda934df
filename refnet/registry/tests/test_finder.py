"""The finder's ranking on fixed data, adding a prospect, the pairs table, permissions."""

from datetime import datetime, time

import pytest
from django.urls import reverse
from django.utils import timezone

from refnet.followups.models import FollowUp, FollowUpKind
from refnet.followups.rules import add_business_days
from refnet.partners.models import Partner
from refnet.practice.models import Location, ServiceLine
from refnet.registry.models import ComplementaryPair, RegistryProvider
from refnet.registry.selectors import finder_candidates
from refnet.registry.synthetic import npi
from refnet.twofactor.testing import force_login_verified

pytestmark = pytest.mark.django_db

LAT, LNG = 39.7, -105.0
MILE = 1 / 69.0933  # degrees of latitude per mile (haversine, R = 3958.8 mi)


@pytest.fixture
def world(db):
    Location.objects.create(name="Home", latitude=LAT, longitude=LNG)
    ServiceLine.objects.create(name="Orthopaedics")
    ServiceLine.objects.create(name="Cardiology", is_active=False)
    ComplementaryPair.objects.all().delete()
    for taxonomy, label, offers, weight in [
        ("2251", "Physical therapy", "orthop", "1.00"), ("111N", "Chiropractic", "orthop", "0.80"),
        ("207Q", "Family medicine", "", "0.90"), ("213E", "Podiatry", "cardio", "1.00"),
    ]:
        ComplementaryPair.objects.create(taxonomy=taxonomy, label=label,
                                         practice_offers=offers, weight=weight)

    def provider(body, name, taxonomy, miles, size=1, **extra):
        return RegistryProvider.objects.create(
            npi=int(npi(body)), entity_type=extra.pop("entity_type", 1), name=name,
            primary_taxonomy=taxonomy, latitude=LAT + miles * MILE, longitude=LNG,
            org_size=size, state="CO", zip5="80206", city="DENVER", address_line="1 MAIN ST",
            phone="3035550100", **extra)

    made = {
        "A": provider("100000101", "ANN PT, DPT", "225100000X", 2),
        "B": provider("100000102", "BEN CHIRO, DC", "111N00000X", 1, size=3),
        "C": provider("100000103", "CARA FAMILY, MD", "207Q00000X", 8, size=12),
        "D": provider("100000104", "DAN FAR PT, PT", "225100000X", 20),
        "E": provider("100000105", "EVE FOOT, DPM", "213E00000X", 1),
        "F": provider("100000106", "FAY TOO FAR, PT", "225100000X", 30),
        "G": provider("100000107", "GUS PARTNER, PT", "225100000X", 1),
        "H": provider("100000108", "HAL GONE, PT", "225100000X", 1, deactivated=True),
        "I": provider("100000109", "IDA TEETH, DDS", "1223G0001X", 1),
    }
    Partner.objects.create(kind="clinician", name="Gus Partner", npi=npi("100000107"))
    return made


def names(rows):
    return [c.provider.name.split()[0] for c in rows]


def test_ranking_by_fit_distance_and_size(world):
    rows = finder_candidates()
    # C 0.9 x 0.8 (8 mi) x 1.4 (12 at the site) = 100.8; A 1.0 x 1.0 x 1.0 = 100;
    # B 0.8 x 1.0 x 1.2 = 96; D 1.0 x 0.6 (20 mi) x 1.0 = 60. E: its pair needs cardiology
    # (inactive); F: beyond 25 mi; G: already a partner; H: deactivated; I: no pair.
    assert names(rows) == ["CARA", "ANN", "BEN", "DAN"]
    assert [c.score for c in rows] == [100.8, 100.0, 96.0, 60.0]
    assert [c.miles for c in rows] == [8.0, 2.0, 1.0, 20.0]
    assert rows[0].pair_label == "Family medicine"


def test_filters_radius_specialty_and_entity(world):
    assert names(finder_candidates(radius=10)) == ["CARA", "ANN", "BEN"]
    assert names(finder_candidates(taxonomy="2251")) == ["ANN", "DAN"]
    assert names(finder_candidates(entity_type=2)) == []
    ortho = ServiceLine.objects.get(name="Orthopaedics")
    assert names(finder_candidates(service_line=ortho)) == ["CARA", "ANN", "BEN", "DAN"]


def test_finder_page_shows_why(client, users, world):
    force_login_verified(client, users["outreach"])
    page = client.get(reverse("registry:finder"), {"radius": 10}).content.decode()
    assert "3 matches within 10 miles" in page
    assert page.index("Cara Family, MD") < page.index("Ann PT, DPT") < page.index("Ben Chiro")
    assert "8.0 mi from Home" in page and "12 clinicians at the site" in page


def test_add_as_prospect_creates_partner_and_first_followup_once(client, users, world):
    force_login_verified(client, users["outreach"])
    ann = world["A"]
    url = reverse("registry:add", args=[ann.npi])
    owner = users["manager"]
    first = client.post(url, {"owner": owner.pk}, HTTP_HX_REQUEST="true")
    again = client.post(url, {"owner": owner.pk}, HTTP_HX_REQUEST="true")  # double click
    assert "is a prospect owned by" in first.content.decode()
    assert "is already a partner" in again.content.decode()
    partner = Partner.objects.get(npi=str(ann.npi))
    assert (partner.kind, partner.stage, partner.owner, partner.name) == \
        ("clinician", "prospect", owner, "Ann PT, DPT")
    assert partner.taxonomy_code == "225100000X" and partner.zip_code == "80206"
    assert partner.phone == "(303) 555-0100" and partner.latitude is not None
    task = FollowUp.objects.get(partner=partner)
    assert (task.kind, task.assignee, task.key) == (FollowUpKind.PROSPECT, owner,
                                                    f"prospect:first:{partner.pk}")
    due = add_business_days(timezone.localdate(), 2)
    assert task.due_at == timezone.make_aware(datetime.combine(due, time(17)))
    assert "ANN" not in names(finder_candidates())  # gone from the finder


def test_add_without_htmx_redirects_with_a_message_and_defaults_owner(client, users, world):
    force_login_verified(client, users["outreach"])
    response = client.post(reverse("registry:add", args=[world["B"].npi]), follow=True)
    assert "is now a prospect owned by" in response.content.decode()
    assert Partner.objects.get(npi=str(world["B"].npi)).owner == users["outreach"]


def test_pairs_managers_edit_outreach_only_read(client, users, world):
    force_login_verified(client, users["outreach"])
    assert client.get(reverse("registry:pairs")).status_code == 200
    assert client.post(reverse("registry:pair_add"), {}).status_code == 403
    force_login_verified(client, users["manager"])
    response = client.post(reverse("registry:pair_add"), {
        "taxonomy": "2084n0400x", "label": "Neurology", "practice_offers": "Orthop",
        "weight": "0.7"})
    assert response.status_code == 302
    pair = ComplementaryPair.objects.get(label="Neurology")
    assert (pair.taxonomy, pair.practice_offers) == ("2084N0400X", "orthop")
    bad = client.post(reverse("registry:pair_add"), {"taxonomy": "xyz", "label": "Bad",
                                                     "weight": "3"})
    assert "Enter a NUCC taxonomy code" in bad.content.decode()
    assert "less than or equal to 1" in bad.content.decode()
    pt = ComplementaryPair.objects.get(taxonomy="2251")
    client.post(reverse("registry:pair_edit", args=[pt.pk]), {
        "taxonomy": "2251", "label": "Physical therapy", "practice_offers": "orthop",
        "weight": "0.5"})
    assert names(finder_candidates(taxonomy="2251")) == ["ANN", "DAN"]
    assert finder_candidates(taxonomy="2251")[0].score == 50.0
    client.post(reverse("registry:pair_delete", args=[pt.pk]))
    assert not ComplementaryPair.objects.filter(pk=pt.pk).exists()


@pytest.mark.parametrize("role,finder,imports", [
    ("front_desk", 403, 403), ("coordinator", 403, 403), ("outreach", 200, 403),
    ("manager", 200, 200), ("admin", 200, 200)])
def test_who_may_use_the_finder_and_imports(client, users, world, role, finder, imports):
    force_login_verified(client, users[role])
    assert client.get(reverse("registry:finder")).status_code == finder
    assert client.post(reverse("registry:add", args=[world["A"].npi])).status_code in (
        (403,) if finder == 403 else (302,))
    assert client.get(reverse("registry:imports")).status_code == imports


def test_hostile_names_are_shown_as_text(client, users, world):
    RegistryProvider.objects.filter(pk=world["A"].pk).update(name="<script>x()</script>")
    force_login_verified(client, users["outreach"])
    page = client.get(reverse("registry:finder")).content.decode()
    assert "<script>x()" not in page and "&lt;script&gt;x()" in page
