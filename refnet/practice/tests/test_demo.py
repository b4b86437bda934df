"""`refnet demo`: a synthetic practice with every kind of partner, two years of referrals
and one login per role; built once, then left alone unless --reset."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max, Min
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from refnet.accounts.models import Role, User
from refnet.partners.models import BusinessCategory, Partner, PartnerKind, validate_npi
from refnet.partners.search import partners_search
from refnet.practice.demo import DEMO_PASSWORD
from refnet.practice.models import Location
from refnet.referrals.models import Referral, ReferralEvent, SourceStatus


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, built once for this module inside a transaction rolled back at the end.

    Hashed with the fast hasher that refnet/conftest.py gives every test (function-scoped
    fixtures cannot reach a module-scoped one), so that logins verify."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        out = StringIO()
        call_command("demo", stdout=out)
        yield {"output": out.getvalue(),
               "names": sorted(Partner.objects.values_list("name", flat=True))}
        transaction.set_rollback(True)


def test_demo_builds_three_locations_and_about_400_partners(demo, db):
    assert Location.objects.count() == 3
    assert Location.objects.filter(latitude__isnull=False, address_line__gt="").count() == 3
    assert 350 <= Partner.objects.count() <= 450


def test_demo_has_every_partner_kind_and_business_category(demo, db):
    kinds = set(Partner.objects.values_list("kind", flat=True))
    assert kinds == set(PartnerKind.values)
    categories = set(Partner.objects.filter(kind=PartnerKind.LOCAL_BUSINESS)
                     .values_list("category", flat=True))
    assert categories == set(BusinessCategory.values)


def test_demo_clinicians_have_valid_npis_and_practices_have_members(demo, db):
    clinicians = Partner.objects.filter(kind=PartnerKind.CLINICIAN).exclude(npi="")
    assert clinicians.count() > 100
    for partner in clinicians:
        validate_npi(partner.npi)
    assert clinicians.filter(organization__kind=PartnerKind.MEDICAL_PRACTICE).count() > 20
    referrers = Partner.objects.filter(kind=PartnerKind.PATIENT_REFERRER)
    assert referrers.exists() and not referrers.filter(patient__isnull=True).exists()


def test_demo_has_two_years_of_referrals_with_a_timeline(demo, db):
    assert 5500 <= Referral.objects.count() <= 6500
    span = Referral.objects.aggregate(first=Min("received_at"), last=Max("received_at"))
    assert span["last"] - span["first"] > timedelta(days=700)
    assert not Referral.objects.annotate(n=Count("events")).filter(n=0).exists()
    assert ReferralEvent.objects.count() > Referral.objects.count() * 2
    year_ago = timezone.now() - timedelta(days=365)
    old = Referral.objects.filter(received_at__lt=year_ago)
    assert old.filter(status__startswith="closed").count() > 0.9 * old.count()


def test_demo_has_unresolved_sources_in_the_patients_words(demo, db):
    unresolved = Referral.objects.filter(source_status=SourceStatus.UNRESOLVED)
    assert unresolved.count() >= 20
    assert not unresolved.filter(source_text="").exists()
    assert not unresolved.filter(source_partner__isnull=False).exists()


def test_demo_has_partners_that_went_quiet(demo, db):
    cutoff = timezone.now() - timedelta(days=120)
    quiet = Partner.objects.annotate(n=Count("referrals"), last=Max("referrals__received_at")
                                     ).filter(n__gte=5, last__lt=cutoff)
    assert quiet.count() >= 3


def test_demo_search_index_finds_partners_aliases_and_contacts(demo, db):
    assert partners_search("dr jon smith")[0].label == "John Smith, MD"
    assert partners_search("golds gym")[0].label == "Golds Gym"  # an alias of Gold Rush Gym
    assert partners_search("jake morales")[0].source == "contact"


def test_demo_prints_a_login_for_every_role_and_each_works(demo, db, client):
    output = demo["output"]
    assert DEMO_PASSWORD in output
    for role in Role:
        user = User.objects.get(role=role)
        assert user.username in output and user.default_location is not None
        response = client.post(reverse("login"),
                               {"username": user.username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, role
        assert client.session["_auth_user_id"] == str(user.pk)
        client.logout()
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser


def test_running_demo_again_changes_nothing_and_prints_the_logins(demo, db):
    counts = (Partner.objects.count(), Referral.objects.count(), User.objects.count())
    out = StringIO()
    call_command("demo", stdout=out)
    assert (Partner.objects.count(), Referral.objects.count(), User.objects.count()) == counts
    assert "already has data" in out.getvalue()
    assert "frontdesk" in out.getvalue() and DEMO_PASSWORD in out.getvalue()


def test_demo_reset_rebuilds_the_same_practice(demo, db):
    call_command("demo", "--reset", stdout=StringIO())
    assert sorted(Partner.objects.values_list("name", flat=True)) == demo["names"]
    assert User.objects.filter(username="frontdesk").count() == 1
    assert 5500 <= Referral.objects.count() <= 6500


def test_demo_integrations_arrive_through_the_real_endpoints(demo, db, client):
    """FHIR and HL7 referrals, a subscriber and a published demo key, so the integration
    pages are not empty (refnet.api.demo)."""
    from refnet.api.demo import DEMO_API_KEY
    from refnet.fhir.models import FhirRequest
    from refnet.hl7.models import HL7Message, HL7Subscriber

    assert DEMO_API_KEY in demo["output"] and "demo only" in demo["output"]
    codes = sorted(HL7Message.objects.values_list("ack_code", flat=True))
    assert codes.count("AA") >= 5 and codes.count("AE") == 1
    assert HL7Message.objects.filter(duplicate=True).count() == 1
    for message in HL7Message.objects.filter(ack_code="AA"):
        assert message.referral.channel == "hl7v2" and message.raw.startswith("MSH|")
    statuses = sorted(FhirRequest.objects.values_list("status", flat=True))
    assert statuses.count(201) >= 4 and statuses.count(422) == 1
    assert all(r.referral.channel == "fhir" for r in FhirRequest.objects.filter(status=201))
    assert HL7Subscriber.objects.get().replies
    response = client.get("/fhir/ServiceRequest", {"_count": 1},
                          HTTP_AUTHORIZATION=f"Bearer {DEMO_API_KEY}")
    assert response.status_code == 200
