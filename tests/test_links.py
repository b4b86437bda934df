"""refnet.links.id_url gives what reverse() gives."""

from django.urls import reverse, set_script_prefix

from refnet.links import id_url


def test_same_as_reverse_for_urls_with_one_id():
    for name in ("referrals:detail", "referrals:patient_detail", "partners:detail"):
        for pk in (1, 42, 2147483647, 10**12):
            assert id_url(name, pk) == reverse(name, args=[pk])


def test_follows_the_script_prefix():
    try:
        set_script_prefix("/refnet/")
        assert id_url("partners:detail", 7) == reverse("partners:detail", args=[7])
        assert id_url("partners:detail", 7).startswith("/refnet/partners/")
    finally:
        set_script_prefix("/")
    assert id_url("partners:detail", 7) == "/partners/7/"
