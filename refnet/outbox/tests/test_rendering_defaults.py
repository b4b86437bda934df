"""The default templates a practice starts with."""

import pytest

from refnet.outbox.defaults import DEFAULT_TEMPLATES
from refnet.outbox.models import MessageTemplate
from refnet.outbox.rendering import template_check


@pytest.mark.parametrize("default", DEFAULT_TEMPLATES,
                         ids=lambda d: f"{d['purpose']}-{d['channel']}-{d['audience']}")
def test_every_default_template_passes_the_guard_for_its_audience(default):
    template_check(subject=default["subject"], body=default["body"],
                   audience=default["audience"], channel=default["channel"])


def test_the_migration_created_every_default_and_clinician_updates_are_clinical_only(db):
    keys = set(MessageTemplate.objects.values_list("purpose", "channel", "audience"))
    assert {(d["purpose"], d["channel"], d["audience"]) for d in DEFAULT_TEMPLATES} <= keys
    assert ("thank_you", "fax", "clinical") in keys
    assert not MessageTemplate.objects.filter(
        purpose__in=["outcome_update", "progress_report"]).exclude(audience="clinical").exists()
    for audience in ("clinical", "named", "general"):
        for purpose in ("check_in", "reengage"):
            assert {c for p, c, a in keys if p == purpose and a == audience} >= {
                "email", "letter", "sms"}
