"""The audit log's source address: REMOTE_ADDR, or X-Forwarded-For only when the request
came through a proxy listed in REFNET_TRUSTED_PROXIES."""

import pytest
from django.test import RequestFactory

from refnet.accounts.audit import client_address


def _address(remote, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **headers))


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.REFNET_TRUSTED_PROXIES = []
    assert _address("203.0.113.5", "198.51.100.1") == "203.0.113.5"


def test_a_trusted_proxy_passes_on_the_client(settings):
    settings.REFNET_TRUSTED_PROXIES = ["127.0.0.1"]
    assert _address("127.0.0.1", "198.51.100.1") == "198.51.100.1"


def test_an_untrusted_sender_cannot_forge_the_header(settings):
    settings.REFNET_TRUSTED_PROXIES = ["127.0.0.1"]
    assert _address("203.0.113.5", "198.51.100.1") == "203.0.113.5"


def test_hops_the_client_wrote_itself_are_not_believed(settings):
    # The client sent "X-Forwarded-For: 1.2.3.4"; the load balancer (10.0.0.2) appended the
    # real client, and nginx on 127.0.0.1 appended the load balancer.
    settings.REFNET_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert _address("127.0.0.1", "1.2.3.4, 198.51.100.1, 10.0.0.2") == "198.51.100.1"


def test_garbage_in_the_header_stops_at_the_last_trusted_proxy(settings):
    settings.REFNET_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert _address("127.0.0.1", "198.51.100.1, <script>, 10.0.0.2") == "10.0.0.2"
    assert _address("127.0.0.1", "") == "127.0.0.1"
    assert _address("127.0.0.1") == "127.0.0.1"


def test_ipv6_proxies_and_clients(settings):
    settings.REFNET_TRUSTED_PROXIES = ["::1", "fd00::/8"]
    assert _address("::1", "2001:DB8::1, fd00::5") == "2001:db8::1"


@pytest.mark.django_db
def test_the_audit_row_records_the_forwarded_client(settings, login, make_referral):
    from django.urls import reverse

    from refnet.accounts.models import AuditEvent

    settings.REFNET_TRUSTED_PROXIES = ["127.0.0.1"]
    client = login("coordinator")
    make_referral()
    client.get(reverse("referrals:list"), REMOTE_ADDR="127.0.0.1",
               HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert set(AuditEvent.objects.values_list("address", flat=True)) == {"198.51.100.77"}
