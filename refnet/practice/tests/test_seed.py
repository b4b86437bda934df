"""`refnet seed`: bulk benchmark data that the application reads like its own."""

from io import StringIO

from django.core.management import call_command

from refnet.partners.models import Contact, Partner, PartnerKind, SearchEntry, validate_npi
from refnet.partners.search import partners_search
from refnet.partners.services import partner_create
from refnet.referrals.models import Patient, Referral, ReferralEvent


def seed(**counts) -> str:
    out = StringIO()
    call_command("seed", stdout=out, stderr=StringIO(), **counts)
    return out.getvalue()


def test_seed_creates_the_requested_counts(db):
    output = seed(partners=200, referrals=2000)
    assert Partner.objects.count() == 200
    assert Referral.objects.count() == 2000
    assert Patient.objects.count() == 1000
    assert ReferralEvent.objects.filter(to_status="received").count() == 2000
    assert set(Partner.objects.values_list("kind", flat=True)) == set(PartnerKind.values)
    assert 40 <= Contact.objects.count() <= 120
    assert SearchEntry.objects.count() >= 200 + Contact.objects.count()
    assert "Seeded 200 partners" in output


def test_seeded_rows_read_back_through_the_orm(db):
    seed(partners=50, referrals=300)
    referral = Referral.objects.select_related("patient", "location").order_by("pk").last()
    assert referral.received_at.tzinfo is not None
    assert referral.status_changed_at >= referral.received_at
    for partner in Partner.objects.exclude(npi=""):
        validate_npi(partner.npi)
    assert Patient.objects.filter(last_name_key="").count() == 0


def test_search_finds_seeded_partners_by_name(db):
    seed(partners=200, referrals=2000)
    for partner in Partner.objects.order_by("pk")[::20]:
        found = [m.partner_id for m in partners_search(partner.name, limit=20)]
        assert partner.pk in found, partner.name


def test_search_index_stays_live_after_a_seed(db):
    seed(partners=30, referrals=100)
    partner = partner_create(by=None, kind="clinician", name="Zebediah Quarrington, MD")
    assert partners_search("zebediah quarington")[0].partner_id == partner.pk


def test_seeds_append_without_colliding(db):
    seed(partners=40, referrals=200)
    first_names = set(Partner.objects.values_list("name", flat=True))
    seed(partners=40, referrals=200)
    assert Partner.objects.count() == 80
    assert Referral.objects.count() == 400
    assert Partner.objects.values("npi").exclude(npi="").distinct().count() == \
        Partner.objects.exclude(npi="").count()
    assert set(Partner.objects.values_list("name", flat=True)) != first_names


def test_seed_is_deterministic(db):
    seed(partners=60, referrals=100, seed=7)
    names = list(Partner.objects.order_by("pk").values_list("name", flat=True))
    Referral.objects.all().delete()
    SearchEntry.objects.all().delete()
    Contact.objects.all().delete()
    Partner.objects.all().delete()
    Patient.objects.all().delete()
    seed(partners=60, referrals=100, seed=7)
    assert list(Partner.objects.order_by("pk").values_list("name", flat=True)) == names
