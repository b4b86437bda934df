"""Merging keeps every moved row attributable and the survivor consistent."""

from refnet.partners.services import partner_merge


def test_moved_referrals_and_contacts_get_a_history_entry_naming_who(
    users, make_partner, make_contact, make_referral
):
    survivor, duplicate = make_partner("John Smith, MD"), make_partner("Jon Smith MD")
    referral = make_referral(source_partner=duplicate)
    contact = make_contact(duplicate, "Pat Front")
    partner_merge(survivor=survivor, duplicate=duplicate, by=users["manager"])
    latest = referral.history.first()
    assert latest.source_partner_id == survivor.pk
    assert latest.history_user == users["manager"]
    assert "merged" in latest.history_change_reason
    assert contact.history.first().history_user == users["manager"]


def test_a_survivor_that_belonged_to_the_duplicate_no_longer_points_at_it(make_partner, users):
    practice = make_partner("Riverside Family Medicine", kind="medical_practice")
    doctor = make_partner("Riverside Family Med", kind="medical_practice", organization=practice)
    partner_merge(survivor=doctor, duplicate=practice, by=users["manager"])
    doctor.refresh_from_db()
    assert doctor.organization is None


def test_an_npi_is_not_copied_onto_a_non_clinical_survivor(make_partner, users):
    gym = make_partner("Iron Temple", kind="local_business", category="gym_trainer")
    doctor = make_partner("Iron Temple Sports Med", kind="clinician", npi="1234567893")
    partner_merge(survivor=gym, duplicate=doctor, by=users["manager"])
    gym.refresh_from_db()
    assert gym.npi == ""
