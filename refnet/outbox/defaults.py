"""The default message templates that a new practice starts with (migration 0002 creates
them; a manager edits them under Messages, Templates).

Short and warm. General thank-yous neither name nor confirm the patient: telling a
non-clinical referrer that someone became a patient needs that patient's authorization
(COMPLIANCE.md). tests/test_rendering_defaults.py checks every one against its audience.
"""

from __future__ import annotations

from typing import TypedDict


class DefaultTemplate(TypedDict):
    purpose: str
    channel: str
    audience: str
    subject: str
    body: str


_SIGN_OFF = "Warm regards,\n{{ sender.name }}\n{{ practice.name }} · {{ practice.phone }}"
_LETTER_SIGN_OFF = "Sincerely,\n\n{{ sender.name }}\n{{ practice.name }}"
_FAX_HEADER = ("FROM: {{ practice.name }}, {{ location.name }} · {{ location.phone }}\n"
               "TO: {{ partner.name }}\n\n")
_CONFIDENTIAL = ("\n\nCONFIDENTIAL: this fax contains protected health information for the "
                 "addressee only. If you received it in error, please call "
                 "{{ location.phone }} and destroy it.")

# --- Thank-yous --------------------------------------------------------------------------

_THANK_CLINICAL = (
    "Dear {{ partner.greeting }},\n\n"
    "Thank you for referring {{ patient.name }} to {{ location.name }}"
    "{% if referral.service_line %} for {{ referral.service_line|lower }}{% endif %}. "
    "We received the referral on {{ referral.received_at|date:\"F j\" }} and are reaching "
    "out to schedule a first visit. We will send you an update once we have seen "
    "{{ patient.first_name }}.\n\n"
    "If there is anything we should know in the meantime, please call us at "
    "{{ location.phone }}.\n\n"
)
_THANK_NAMED = (
    "Dear {{ partner.greeting }},\n\n"
    "Thank you for sending {{ patient.first_name }} our way. {{ patient.first_name }} "
    "let us know it was you, and we are grateful for your trust.\n\n"
    "It means a lot to a practice like ours when people we know recommend us.\n\n"
)
_THANK_GENERAL = (
    "Dear {{ partner.greeting }},\n\n"
    "Thank you for recommending us to the people you know. Word of mouth from "
    "neighbors like you is how most people find {{ practice.name }}, and we do not take it "
    "for granted.\n\n"
    "If you ever have questions about what we do, we are happy to talk: "
    "{{ location.phone }}.\n\n"
)

# --- Clinician updates -------------------------------------------------------------------

_OUTCOME = (
    "Dear {{ partner.greeting }},\n\n"
    "An update on {{ patient.name }}"
    "{% if patient.birth_date %} (born {{ patient.birth_date|date:\"m/d/Y\" }}){% endif %}, "
    "whom you referred on {{ referral.received_at|date:\"F j, Y\" }}"
    "{% if referral.diagnosis %} for {{ referral.diagnosis }}{% endif %}.\n\n"
    "{% if referral.seen_at %}We saw {{ patient.first_name }} on "
    "{{ referral.seen_at|date:\"F j\" }}. {% endif %}"
    "Status: {{ referral.status }}{% if referral.outcome %} ({{ referral.outcome }}){% endif %}."
    "\n\nThank you for the referral. Please call {{ location.phone }} with any questions.\n\n"
)
_PROGRESS = (
    "Dear {{ partner.greeting }},\n\n"
    "A progress report on {{ patient.name }}"
    "{% if patient.birth_date %} (born {{ patient.birth_date|date:\"m/d/Y\" }}){% endif %}"
    "{% if referral.service_line %}, {{ referral.service_line|lower }}{% endif %}"
    "{% if referral.diagnosis %}, {{ referral.diagnosis }}{% endif %}.\n\n"
    "Visits so far: {{ referral.visit_count }}"
    "{% if referral.last_visit_at %}, most recently on "
    "{{ referral.last_visit_at|date:\"F j\" }}{% endif %}. Status: {{ referral.status }}.\n\n"
    "We will keep you posted. If you would like to discuss the plan of care, please call "
    "{{ location.phone }}.\n\n"
)

# --- Partner relations -------------------------------------------------------------------

_CHECK_IN = (
    "Dear {{ partner.greeting }},\n\n"
    "Just checking in from {{ practice.name }}. We value working with you and would love to "
    "hear how things are going on your side, and whether there is anything we could do "
    "better for the people you send our way.\n\n"
    "You can reach us at {{ location.phone }}.\n\n"
)
_REENGAGE = (
    "Dear {{ partner.greeting }},\n\n"
    "It has been a while since we were last in touch, and we wanted to say hello. "
    "{{ practice.name }} is still here for the people you know, at {{ location.name }} "
    "and {{ practice.address }}.\n\n"
    "If it would help, we would be glad to stop by or send you some information about "
    "what we offer. Call us any time at {{ location.phone }}.\n\n"
)


def _make(purpose: str, channel: str, audience: str, subject: str,
          body: str) -> DefaultTemplate:
    return DefaultTemplate(purpose=purpose, channel=channel, audience=audience,
                           subject=subject, body=body)


def _email_letter_fax(purpose: str, audience: str, subject: str, body: str,
                      channels: tuple[str, ...]) -> list[DefaultTemplate]:
    made = []
    for channel in channels:
        if channel == "email":
            made.append(_make(purpose, channel, audience, subject, body + _SIGN_OFF))
        elif channel == "letter":
            made.append(_make(purpose, channel, audience, subject, body + _LETTER_SIGN_OFF))
        elif channel == "fax":
            # The PHI notice only where the fax is about a patient.
            notice = _CONFIDENTIAL if purpose not in ("check_in", "reengage") else ""
            made.append(_make(purpose, channel, audience, subject,
                              _FAX_HEADER + body + _LETTER_SIGN_OFF + notice))
    return made


DEFAULT_TEMPLATES: list[DefaultTemplate] = [
    # Thank-yous: clinical (email, letter, fax, SMS), named and general (email, letter, SMS).
    *_email_letter_fax("thank_you", "clinical", "Thank you for referring {{ patient.name }}",
                       _THANK_CLINICAL, ("email", "letter", "fax")),
    _make("thank_you", "sms", "clinical", "",
          "{{ practice.name }}: thank you for referring {{ patient.first_name }}, "
          "{{ partner.greeting }}. We are reaching out to schedule. {{ location.phone }}"),
    *_email_letter_fax("thank_you", "named", "Thank you for sending {{ patient.first_name }}",
                       _THANK_NAMED, ("email", "letter")),
    _make("thank_you", "sms", "named", "",
          "{{ practice.name }}: thank you for sending {{ patient.first_name }} our way, "
          "{{ partner.greeting }}! We are grateful."),
    *_email_letter_fax("thank_you", "general", "Thank you from {{ practice.name }}",
                       _THANK_GENERAL, ("email", "letter")),
    _make("thank_you", "sms", "general", "",
          "{{ practice.name }}: thank you for recommending us to the people you know, "
          "{{ partner.greeting }}. It means a lot."),
    # Clinician updates: clinical only.
    *_email_letter_fax("outcome_update", "clinical", "Update on {{ patient.name }}",
                       _OUTCOME, ("email", "letter", "fax")),
    *_email_letter_fax("progress_report", "clinical", "Progress report: {{ patient.name }}",
                       _PROGRESS, ("email", "letter", "fax")),
]

for _audience in ("clinical", "named", "general"):
    # Clinicians' offices often want faxes: they get fax versions too.
    _channels = ("email", "letter", "fax") if _audience == "clinical" else ("email", "letter")
    DEFAULT_TEMPLATES += _email_letter_fax(
        "check_in", _audience, "Checking in from {{ practice.name }}", _CHECK_IN, _channels)
    DEFAULT_TEMPLATES.append(_make(
        "check_in", "sms", _audience, "",
        "{{ practice.name }}: hi {{ partner.greeting }}, just checking in. Anything we can "
        "do for you? {{ location.phone }}"))
    DEFAULT_TEMPLATES += _email_letter_fax(
        "reengage", _audience, "Hello from {{ practice.name }}", _REENGAGE, _channels)
    DEFAULT_TEMPLATES.append(_make(
        "reengage", "sms", _audience, "",
        "{{ practice.name }}: hi {{ partner.greeting }}, it has been a while! We would love "
        "to catch up. {{ location.phone }}"))
