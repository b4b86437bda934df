"""services: partner_merge edge cases and tags by name."""

import pytest

from refnet.partners.models import Partner, PartnerAlias, PartnerMerge, Tag
from refnet.partners.services import (
    MergeError,
    partner_create_with_tag_names,
    partner_merge,
    partner_update_with_tag_names,
    tags_ensure,
)

from .conftest import BAD_NPI, VALID_NPI


def test_merge_into_itself_is_refused(make_partner):
    partner = make_partner()

    with pytest.raises(MergeError, match="cannot be merged into itself"):
        partner_merge(survivor=partner, duplicate=partner, by=None)

    partner.refresh_from_db()
    assert partner.merged_into is None
    assert not PartnerMerge.objects.exists()


def test_merging_an_already_merged_duplicate_is_refused(make_partner, make_referral):
    survivor, duplicate, other = (make_partner(n) for n in ("A Clinic", "A Clinik", "B Clinic"))
    partner_merge(survivor=survivor, duplicate=duplicate, by=None)

    with pytest.raises(MergeError, match="already merged"):
        partner_merge(survivor=other, duplicate=duplicate, by=None)

    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor
    assert PartnerMerge.objects.count() == 1


def test_merging_into_an_already_merged_survivor_is_refused(make_partner):
    survivor, duplicate, other = (make_partner(n) for n in ("A Clinic", "A Clinik", "B Clinic"))
    partner_merge(survivor=survivor, duplicate=duplicate, by=None)
    # The caller's object predates that merge; the service must re-read the row.
    stale = Partner.objects.get(pk=duplicate.pk)
    stale.merged_into = None

    with pytest.raises(MergeError, match="already merged"):
        partner_merge(survivor=stale, duplicate=other, by=None)

    other.refresh_from_db()
    assert other.merged_into is None
    assert PartnerMerge.objects.count() == 1


def test_merge_keeps_aliases_and_copies_a_missing_npi(make_partner):
    survivor = make_partner("John Smith, MD")
    duplicate = make_partner("Jon Smith", npi=VALID_NPI)
    PartnerAlias.objects.create(partner=duplicate, name="Smitty")

    partner_merge(survivor=survivor, duplicate=duplicate, by=None)

    survivor.refresh_from_db()
    assert survivor.npi == VALID_NPI
    assert set(survivor.aliases.values_list("name", flat=True)) == {"Jon Smith", "Smitty"}


def test_tags_ensure_reuses_tags_regardless_of_case_and_spacing(db):
    existing = Tag.objects.create(name="Sports medicine")

    tags = tags_ensure(names=["sports  MEDICINE", " Knees ", "knees", ""])

    assert tags[0] == existing
    assert [t.name for t in tags] == ["Sports medicine", "Knees"]
    assert Tag.objects.count() == 2


def test_a_partner_that_fails_validation_leaves_no_new_tags(users):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        partner_create_with_tag_names(by=users["outreach"], tag_names=["New tag"],
                                      name="Bad NPI", kind="clinician", npi=BAD_NPI)

    assert "npi" in caught.value.message_dict
    assert not Tag.objects.exists()


def test_update_with_no_tag_names_clears_the_tags(make_partner):
    partner = partner_create_with_tag_names(by=None, tag_names=["Spine"], name="John Smith",
                                            kind="clinician")

    partner_update_with_tag_names(partner=partner, by=None, tag_names=[])

    assert not partner.tags.exists()
