"""The privacy guard: what each audience may be told, at save AND at render time, and the
safe subset of the template language."""

import pytest
from django.core.exceptions import ValidationError

from refnet.outbox.models import MessageTemplate
from refnet.outbox.rendering import (
    CLINICAL_VARIABLES,
    PATIENT_NAME_VARIABLES,
    TemplateAudienceError,
    render_message,
    template_check,
)

PATIENT_VARIABLES = sorted(PATIENT_NAME_VARIABLES | CLINICAL_VARIABLES)


def _errors(exc: ValidationError) -> str:
    return " ".join(m for ms in exc.message_dict.values() for m in ms)


@pytest.mark.parametrize("variable", PATIENT_VARIABLES)
def test_general_audience_may_not_use_any_patient_variable_at_save(variable):
    with pytest.raises(TemplateAudienceError) as exc:
        template_check(subject="Thanks", body=f"Hello {{{{ {variable} }}}}", audience="general")
    message = exc.value.message_dict["body"][0]
    assert f"{{{{ {variable} }}}}" in message and "general audience" in message
    assert "COMPLIANCE.md" in message


@pytest.mark.parametrize("variable", PATIENT_VARIABLES)
def test_general_audience_template_changed_behind_the_app_fails_at_render(
        variable, make_partner, make_referral, make_patient):
    gym = make_partner(name="Iron Gym", kind="local_business", email="desk@irongym.example")
    referral = make_referral(source_partner=gym, patient=make_patient(first_name="Zelda"))
    # Written behind the form's back: the render-time check must still refuse it.
    MessageTemplate.objects.filter(purpose="thank_you", channel="email",
                                   audience="general").update(body=f"{{{{ {variable} }}}}")
    with pytest.raises(TemplateAudienceError) as exc:
        render_message(purpose="thank_you", channel="email", partner=gym, referral=referral)
    assert variable in _errors(exc.value)


def test_a_variable_hidden_in_a_condition_or_a_filter_argument_is_found():
    for body in ["{% if patient.last_name %}x{% endif %}",
                 "{% if not partner.name or referral.diagnosis %}x{% endif %}",
                 "{{ partner.name|default:patient.name }}",
                 "{% with who=patient.first_name %}{{ who }}{% endwith %}",
                 "{% for x in referral.reason %}{{ x }}{% endfor %}",
                 "Subject fine\n\n{% if partner.name %}{% else %}{{ patient.name }}{% endif %}"]:
        with pytest.raises(TemplateAudienceError, match="patient|referral"):
            template_check(subject="", body=body, audience="general")


def test_the_subject_is_checked_too_and_the_error_is_on_the_subject():
    with pytest.raises(TemplateAudienceError) as exc:
        template_check(subject="About {{ patient.name }}", body="Hi", audience="general")
    assert list(exc.value.message_dict) == ["subject"]


def test_named_audience_may_name_the_patient_but_nothing_clinical():
    template_check(subject="Thanks for sending {{ patient.first_name }}",
                   body="{{ patient.name }} came in.", audience="named")
    with pytest.raises(TemplateAudienceError) as exc:
        template_check(subject="", body="{{ referral.diagnosis }}", audience="named")
    assert "named audience" in _errors(exc.value)
    assert "clinical" in _errors(exc.value)


def test_clinical_audience_may_use_clinical_variables_but_not_the_unsubscribe_link():
    template_check(subject="", body="{{ referral.diagnosis }} {{ patient.birth_date|date:'Y' }}",
                   audience="clinical")
    with pytest.raises(TemplateAudienceError, match="unsubscribe"):
        template_check(subject="", body="{{ unsubscribe_url }}", audience="clinical")


def test_the_unsubscribe_link_is_for_email_only():
    template_check(subject="", body="{{ unsubscribe_url }}", audience="general", channel="email")
    with pytest.raises(TemplateAudienceError, match="only be used in an email"):
        template_check(subject="", body="{{ unsubscribe_url }}", audience="general",
                       channel="sms")


@pytest.mark.parametrize("body", ["{{ partner.owner.email }}", "{{ partner }}",
                                  "{{ patient.notes }}", "{{ settings.SECRET_KEY }}"])
def test_unknown_variables_are_refused_by_name(body):
    with pytest.raises(TemplateAudienceError) as exc:
        template_check(subject="", body=body, audience="clinical")
    name = body.strip("{} ")
    assert f"{{{{ {name} }}}} is not a variable refnet knows" in _errors(exc.value)


@pytest.mark.parametrize("tag", ["{% load static %}", "{% include 'base.html' %}",
                                 "{% url 'home' %}", "{% debug %}", "{% csrf_token %}",
                                 "{% now 'Y' %}", "{% autoescape off %}x{% endautoescape %}"])
def test_tags_outside_the_safe_subset_are_refused(tag):
    with pytest.raises(TemplateAudienceError) as exc:
        template_check(subject="", body=f"Hello\n{tag}", audience="clinical")
    name = tag.split()[1]
    assert f"{{% {name} %}} is not allowed" in _errors(exc.value)
    assert "line 2" in _errors(exc.value)


def test_filters_that_mark_text_safe_are_refused():
    with pytest.raises(TemplateAudienceError, match=r"\|safe"):
        template_check(subject="", body="{{ partner.name|safe }}", audience="clinical")


def test_a_syntax_error_names_its_line():
    with pytest.raises(TemplateAudienceError) as exc:
        template_check(subject="", body="Hi\n\n{% if partner.name %}never closed",
                       audience="clinical")
    assert "syntax error on line 3" in _errors(exc.value)


def test_hostile_partner_names_render_as_text_and_are_escaped_in_html(make_partner):
    hostile = make_partner(name="<script>alert(1)</script> {{ patient.name }} {% load x %}",
                           kind="local_business", email="x@hostile.example")
    rendered = render_message(purpose="check_in", channel="email", partner=hostile)
    assert "<script>alert(1)</script> {{ patient.name }} {% load x %}" in rendered.body_text
    assert "<script>" not in rendered.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ patient.name }}" in rendered.body_html


def test_template_text_is_escaped_in_html_too(make_partner):
    gym = make_partner(name="Tom & Jerry's Gym", kind="local_business", email="t@gym.example")
    MessageTemplate.objects.filter(purpose="check_in", channel="email",
                                   audience="general").update(
        body="Hi {{ partner.name }} <b>bold?</b>\n\nSecond paragraph")
    rendered = render_message(purpose="check_in", channel="email", partner=gym)
    assert "Hi Tom & Jerry's Gym <b>bold?</b>" in rendered.body_text
    assert "Tom &amp; Jerry&#x27;s Gym &lt;b&gt;bold?&lt;/b&gt;" in rendered.body_html
    assert "<p>Second paragraph</p>" in rendered.body_html
