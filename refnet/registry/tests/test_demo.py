"""The demo registry: synthetic providers near the demo locations; the finder has results."""

import random
import time
from types import SimpleNamespace

import pytest

from refnet.practice.demo import LOCATIONS, SERVICE_LINES
from refnet.practice.models import Location, ServiceLine
from refnet.registry.demo import build_demo
from refnet.registry.models import RegistryProvider, Taxonomy
from refnet.registry.selectors import finder_candidates
from refnet.registry.synthetic import npi

pytestmark = pytest.mark.django_db


def test_demo_registry_feeds_the_finder_and_skips_partners(users, make_partner):
    for fields in LOCATIONS:
        Location.objects.create(**fields)
    for name, description in SERVICE_LINES:
        ServiceLine.objects.create(name=name, description=description)
    partner = make_partner(name="Known Family Doctor, MD", npi=npi("123456789"),
                           taxonomy_code="207Q00000X")
    practice = SimpleNamespace(users={"manager": users["manager"]})
    started = time.perf_counter()
    build_demo(practice=practice, partners=[partner], now=None, rng=random.Random(7),
               say=lambda text: None)
    assert time.perf_counter() - started < 5
    assert RegistryProvider.objects.count() == 201
    assert RegistryProvider.objects.filter(latitude__isnull=True).count() == 0
    assert Taxonomy.objects.filter(code="225100000X").exists()
    rows = finder_candidates()
    assert len(rows) > 50
    assert int(partner.npi) not in {c.provider.npi for c in rows}
    assert all(c.miles <= 25 for c in rows)
