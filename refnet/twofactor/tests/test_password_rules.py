"""Strong password rules: at least 12 characters, not common, not like the user's name, not
all digits. The demo's password and the tests' password satisfy them."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from refnet.accounts.models import User
from refnet.conftest import PASSWORD
from refnet.practice.demo import DEMO_PASSWORD, DEMO_USERS


@pytest.mark.parametrize("username,role,first,last,_where", DEMO_USERS)
def test_the_demo_password_passes_the_rules_for_every_demo_user(username, role, first, last,
                                                                 _where):
    user = User(username=username, role=role, first_name=first, last_name=last,
                email=f"{username}@practice.example")
    validate_password(DEMO_PASSWORD, user)
    validate_password(PASSWORD, user)


@pytest.mark.parametrize("weak,why", [
    ("Sh0rt-pass", "at least 12 characters"),
    ("password1234", "too common"),
    ("739182645019", "entirely numeric"),
    ("maya.okafor@practice", "too similar"),
])
def test_weak_passwords_are_refused_with_the_reason(weak, why):
    user = User(username="manager", first_name="Maya", last_name="Okafor",
                email="maya.okafor@practice.example")
    with pytest.raises(ValidationError) as refused:
        validate_password(weak, user)
    assert any(why in message for message in refused.value.messages)
