"""Who reads a message decides what it may say: the audience comes from the recipient."""

import pytest

from refnet.outbox.models import MessageTemplate
from refnet.outbox.rendering import (
    NoAddress,
    NoTemplate,
    TemplateAudienceError,
    audience_for,
    default_channel,
    render_message,
)


@pytest.fixture
def gym(make_partner):
    return make_partner(name="Iron Gym", kind="local_business", category="gym_trainer",
                        email="desk@irongym.example", phone="(303) 555-0177",
                        address_line="5 Main St", city="Denver", state="CO")


def test_a_referring_clinician_gets_the_clinical_audience(make_partner, make_referral):
    doctor = make_partner(name="John Smith, MD", kind="clinician", email="js@clinic.example")
    referral = make_referral(source_partner=doctor)
    assert audience_for(partner=doctor, referral=referral) == "clinical"
    rendered = render_message(purpose="thank_you", channel="email", partner=doctor,
                              referral=referral)
    assert rendered.audience == "clinical" and rendered.names_patient
    assert "Dear Dr. Smith," in rendered.body_text
    assert "Ada Synthetic" in rendered.body_text
    assert "unsubscribe" not in rendered.body_text.lower()  # care coordination, not a list


def test_a_gym_trainer_with_the_patients_authorization_gets_named(gym, make_referral,
                                                                  make_patient):
    patient = make_patient(first_name="Zelda", last_name="Quill", may_thank_referrer=True)
    referral = make_referral(source_partner=gym, patient=patient, diagnosis="M54.50")
    assert audience_for(partner=gym, referral=referral) == "named"
    rendered = render_message(purpose="thank_you", channel="email", partner=gym,
                              referral=referral)
    assert rendered.audience == "named" and rendered.names_patient
    assert "Zelda" in rendered.body_text and "Zelda" in rendered.subject
    assert "M54" not in rendered.body_text


def test_without_authorization_the_message_neither_names_nor_confirms_the_patient(
        gym, make_referral, make_patient):
    patient = make_patient(first_name="Zelda", last_name="Quill", may_thank_referrer=False)
    referral = make_referral(source_partner=gym, patient=patient)
    assert audience_for(partner=gym, referral=referral) == "general"
    for channel in ("email", "letter", "sms"):
        rendered = render_message(purpose="thank_you", channel=channel, partner=gym,
                                  referral=referral)
        everything = rendered.subject + rendered.body_text + rendered.body_html
        assert rendered.audience == "general" and not rendered.names_patient
        assert "Zelda" not in everything and "Quill" not in everything
        assert "recommending us to the people you know" in rendered.body_text


def test_the_context_holds_only_the_audiences_variables(gym, make_referral, make_patient):
    """Defence in depth: even a clinical variable that slipped past the check is empty."""
    from refnet.outbox.rendering import message_context

    referral = make_referral(source_partner=gym, patient=make_patient(first_name="Zelda"))
    context = message_context(audience="general", channel="email", partner=gym,
                              referral=referral, to_address="desk@irongym.example")
    assert "patient" not in context and "referral" not in context
    named = message_context(audience="named", channel="email", partner=gym, referral=referral)
    assert named["patient"] == {"first_name": "Zelda", "last_name": "Synthetic",
                                "name": "Zelda Synthetic"}
    assert "referral" not in named


def test_general_email_has_the_postal_address_and_a_working_unsubscribe_link(gym, settings):
    rendered = render_message(purpose="check_in", channel="email", partner=gym)
    assert settings.REFNET_PRACTICE_ADDRESS in rendered.body_text
    assert settings.REFNET_PRACTICE_ADDRESS in rendered.body_html
    assert "/u/unsubscribe/" in rendered.body_text and "/u/unsubscribe/" in rendered.body_html


def test_sms_ends_with_the_opt_out_line_and_letters_go_to_the_postal_address(make_partner):
    shop = make_partner(name="Corner Shop", kind="local_business", phone="(303) 555-0100",
                        address_line="12 Elm St", city="Denver", state="CO", zip_code="80202")
    sms = render_message(purpose="reengage", channel="sms", partner=shop)
    assert sms.body_text.endswith("Reply STOP to opt out.") and sms.body_html == ""
    assert sms.to_address == "(303) 555-0100"
    letter = render_message(purpose="reengage", channel="letter", partner=shop)
    assert letter.to_address == "12 Elm St\nDenver, CO 80202"


def test_a_missing_address_says_which(make_partner):
    shop = make_partner(name="Corner Shop", kind="local_business")
    with pytest.raises(NoAddress, match="Corner Shop has no email address"):
        render_message(purpose="check_in", channel="email", partner=shop)
    with pytest.raises(NoAddress, match="no postal address"):
        render_message(purpose="check_in", channel="letter", partner=shop)


def test_a_contact_is_greeted_by_name_and_gets_it_at_their_address(gym, make_contact):
    janet = make_contact(gym, name="Janet Okafor", email="janet@irongym.example")
    rendered = render_message(purpose="check_in", channel="email", partner=gym, contact=janet)
    assert rendered.to_address == "janet@irongym.example" and rendered.to_name == "Janet Okafor"
    assert "Dear Janet Okafor," in rendered.body_text


def test_no_active_template_is_a_clear_error(gym):
    MessageTemplate.objects.filter(purpose="check_in", channel="email").update(is_active=False)
    with pytest.raises(NoTemplate, match="no active email template"):
        render_message(purpose="check_in", channel="email", partner=gym)


def test_a_template_about_a_patient_needs_the_referral(make_partner):
    doctor = make_partner(name="John Smith, MD", kind="clinician", email="js@clinic.example")
    with pytest.raises(TemplateAudienceError, match="needs the referral"):
        render_message(purpose="thank_you", channel="email", partner=doctor)


def test_default_channel_is_the_preferred_one_when_it_can_be_used(make_partner):
    both = make_partner(name="Both", kind="local_business", email="b@x.example",
                        fax="303-555-0111", preferred_channel="fax")
    assert default_channel(partner=both) == "fax"
    phone_only = make_partner(name="Phone", kind="local_business", email="p@x.example",
                              preferred_channel="phone")
    assert default_channel(partner=phone_only) == "email"
