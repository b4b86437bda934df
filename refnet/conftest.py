"""Shared fixtures: one named user per role, a practice with two locations, and factories."""

import os

import pytest
from django.utils import timezone
from hypothesis import settings as hypothesis_settings

from refnet.accounts.models import Role, User
from refnet.partners.services import contact_create, partner_create
from refnet.practice.models import Location, ServiceLine
from refnet.referrals.services import patient_create, referral_record
from refnet.twofactor.testing import force_login_verified

PASSWORD = "correct-horse-battery-staple"

# Property and fuzz tests draw the same examples on every run, so the suite (and CI) passes
# or fails the same way each time; HYPOTHESIS_PROFILE=explore draws new ones to hunt bugs.
hypothesis_settings.register_profile("refnet", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "refnet"))


def _flush_with_audit_triggers_lifted():
    """Transactional tests end with a flush (DELETE on SQLite, TRUNCATE on PostgreSQL),
    which the audit log's append-only triggers refuse; lift them for the flush only."""
    from django.test import testcases

    from refnet.accounts.triggers import audit_triggers_lifted

    original = testcases.TransactionTestCase._fixture_teardown

    def teardown(self):
        with audit_triggers_lifted():
            original(self)

    testcases.TransactionTestCase._fixture_teardown = teardown


_flush_with_audit_triggers_lifted()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 is slow on purpose; tests that log in many users use a fast hasher.
    accounts/tests/test_login.py checks that production settings use Argon2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(db) -> dict[str, User]:
    """One user per role, keyed by role: front_desk=fran, coordinator=cora, outreach=otto,
    manager=mona, admin=adam."""
    made = {}
    for role, username in [
        (Role.FRONT_DESK, "fran"), (Role.COORDINATOR, "cora"), (Role.OUTREACH, "otto"),
        (Role.MANAGER, "mona"), (Role.ADMIN, "adam"),
    ]:
        made[role.value] = User.objects.create_user(
            username=username, password=PASSWORD, role=role, first_name=username.title(),
            is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN,
        )
    return made


@pytest.fixture
def location(db) -> Location:
    return Location.objects.create(name="Main Street Clinic", city="Springfield", state="IL",
                                   zip_code="62701", latitude=39.7990, longitude=-89.6440)


@pytest.fixture
def other_location(db) -> Location:
    return Location.objects.create(name="Westside Clinic", city="Springfield", state="IL")


@pytest.fixture
def service_line(db) -> ServiceLine:
    return ServiceLine.objects.create(name="Physical therapy")


@pytest.fixture
def make_partner(db):
    def make(name="John Smith, MD", kind="clinician", **fields):
        return partner_create(by=None, kind=kind, name=name, **fields)

    return make


@pytest.fixture
def make_contact(db):
    def make(partner, name="Janet Okafor", **fields):
        return contact_create(partner=partner, by=None, name=name, **fields)

    return make


@pytest.fixture
def make_patient(db):
    def make(first_name="Ada", last_name="Synthetic", **fields):
        return patient_create(by=None, first_name=first_name, last_name=last_name, **fields)

    return make


@pytest.fixture
def make_referral(db, location, make_patient, make_partner):
    def make(patient=None, source_partner=None, received_at=None, **fields):
        return referral_record(
            patient=patient or make_patient(),
            source_partner=source_partner if source_partner is not None else make_partner(),
            location=fields.pop("location", location),
            received_at=received_at or timezone.now(),
            by=fields.pop("by", None),
            **fields,
        )

    return make


@pytest.fixture
def login(client, users):
    """login("coordinator") -> the test client, logged in as that role's user. Managers and
    admins also pass the second factor (a confirmed authenticator app is made for them), so
    the session is as after a full sign-in; twofactor/tests cover the code step itself."""

    def as_role(role: str):
        return force_login_verified(client, users[role])

    return as_role
