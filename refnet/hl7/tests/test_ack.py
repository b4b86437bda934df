"""The ACK for each outcome (golden text, with the ACK's own timestamp and control id masked)
and the errors that name the segment and field, with nothing of the referral written."""

import pytest

from refnet.hl7.models import HL7Message
from refnet.hl7.services import hl7_receive
from refnet.partners.models import Partner
from refnet.referrals.models import Patient, Referral

from .conftest import GOLDEN, sample, with_field, without


def masked(ack: str) -> str:
    """The ACK with MSH-7 and MSH-10 (now and a fresh id) replaced by <TS> and <ID>."""
    lines = ack.split("\r")
    parts = lines[0].split("|")
    parts[6], parts[9] = "<TS>", "<ID>"
    return "\n".join(["|".join(parts), *lines[1:]])


def counts() -> tuple[int, int, int]:
    return Referral.objects.count(), Patient.objects.count(), Partner.objects.count()


@pytest.mark.parametrize("name, message", [
    ("ack_aa_v2.5.1", lambda: sample("2.5.1")),
    ("ack_ae_bad_birth_date_v2.5.1", lambda: with_field(sample("2.5.1"), "PID", 7, "19801340")),
    ("ack_ae_bad_birth_date_v2.3", lambda: with_field(sample("2.3"), "PID", 7, "19801340")),
    ("ack_ar_unsupported_type_v2.4", lambda: with_field(sample("2.4"), "MSH", 9, "ADT^A01")),
    ("ack_ar_unsupported_version", lambda: with_field(sample("2.5"), "MSH", 12, "2.2")),
    ("ack_ar_no_msh", lambda: "PID|1||X1||Doe^Jane"),
])
def test_ack_matches_golden(practice, name, message):
    ack = hl7_receive(message(), channel="http", actor="t").ack
    assert ack.endswith("\r")
    assert masked(ack) == (GOLDEN / f"{name}.hl7").read_text()


@pytest.mark.parametrize("change, code, where, text", [
    (lambda m: with_field(m, "PID", 7, "19801340"), "102", "PID^1^7",
     "PID-7: '19801340' is not a valid date"),
    (lambda m: with_field(m, "PID", 7, "2099"), "AA", None, None),  # a year only: no date
    (lambda m: with_field(m, "PID", 8, "Q"), "103", "PID^1^8", "PID-8: 'Q' is not a sex code"),
    (lambda m: with_field(m, "PID", 5, "^Amara"), "101", "PID^1^5",
     "PID-5: the patient's family name is missing."),
    (lambda m: without(m, "PID"), "100", "PID^1", "PID: the patient segment is missing."),
    (lambda m: with_field(m, "RF1", 2, "X^Whenever"), "103", "RF1^1^2",
     "RF1-2: priority 'X' is not S (stat), A (ASAP) or R (routine)."),
    (lambda m: with_field(m, "PRD", 7, "1234567890^NPI"), "102", "PRD^1^7",
     "PRD-7: NPI '1234567890': This NPI's check digit is wrong"),
    (lambda m: with_field(m, "PRD", 1, ""), "101", "PRD^1^1", "PRD-1: the provider role"),
    # An NPI we do not know yet, and no name to make the partner from.
    (lambda m: with_field(m, "PRD", 2, "^"), "101", "PRD^1^2",
     "PRD-2: The referring provider has no NPI and no name."),
])
def test_content_errors_name_segment_and_field_and_write_nothing(practice, change, code,
                                                                  where, text):
    before = counts()
    handled = hl7_receive(change(sample("2.5")), channel="http", actor="t")
    if code == "AA":
        assert handled.code == "AA", handled.ack
        return
    assert handled.code == "AE"
    err = handled.ack.split("\r")[2].split("|")
    assert err[0] == "ERR" and err[2] == where and err[3].startswith(code + "^")
    assert err[4] == "E" and err[8].startswith(text)
    assert counts() == before
    logged = HL7Message.objects.get()
    assert (logged.ack_code, logged.referral) == ("AE", None)
    assert logged.error.startswith(text)


@pytest.mark.parametrize("field, value, code", [
    (9, "ORU^R01", "200"), (12, "2.6", "203"), (12, "", "101"), (11, "T", "202"),
    (10, "", "101"), (3, "", None),
])
def test_envelope_errors_are_rejected(practice, field, value, code):
    message = with_field(sample("2.5.1"), "MSH", field, value)
    if field == 3:  # no application but a facility still tells senders apart
        assert hl7_receive(message, channel="http", actor="t").code == "AA"
        return
    handled = hl7_receive(message, channel="http", actor="t")
    assert handled.code == "AR"
    err = handled.ack.split("\r")[2].split("|")
    assert err[2] == f"MSH^1^{field}" and err[3].startswith(code + "^")
    assert Referral.objects.count() == 0


def test_duplicate_delivery_is_accepted_again_without_a_second_referral(practice):
    first = hl7_receive(sample("2.4"), channel="http", actor="t")
    again = hl7_receive(sample("2.4"), channel="mllp", actor="t")
    # The same referral id (RF1-6) in a new message (new MSH-10) is the same referral too.
    resent = hl7_receive(with_field(sample("2.4"), "MSH", 10, "LK-77899"), channel="http",
                         actor="t")
    assert [first.code, again.code, resent.code] == ["AA", "AA", "AA"]
    assert first.created and not again.created and not resent.created
    assert again.referral == first.referral == resent.referral
    assert Referral.objects.count() == 1
    assert list(HL7Message.objects.order_by("id").values_list("duplicate", flat=True)) == [
        False, True, True]
    assert resent.ack.split("\r")[1] == "MSA|AA|LK-77899"


def test_a_second_referral_for_the_same_patient_and_provider_reuses_them(practice):
    hl7_receive(sample("2.3"), channel="http", actor="t")
    other = with_field(with_field(sample("2.3"), "RF1", 6, "OAK-REF-6000^OAKRIDGE"), "MSH",
                       10, "OAK-2")
    handled = hl7_receive(other, channel="http", actor="t")
    assert handled.code == "AA" and handled.created
    assert (Referral.objects.count(), Patient.objects.count(), Partner.objects.count()) == (
        2, 1, 1)


def test_lf_line_ends_and_a_latin1_body_are_read(practice):
    text = sample("2.5.1").replace("\r", "\n").replace("de la Cruz", "Muñoz")
    handled = hl7_receive(text.encode("latin-1"), channel="http", actor="t")
    assert handled.code == "AA", handled.ack
    assert handled.referral.patient.last_name == "Muñoz"


def test_unknown_referred_to_location_falls_back_to_the_first(practice):
    message = sample("2.4").replace("PRD|RT|Westside Clinic", "PRD|RT|Lakeview Annex")
    handled = hl7_receive(message, channel="http", actor="t")
    assert handled.code == "AA"
    assert handled.referral.location == practice["main"]


def test_no_referring_provider_records_the_source_as_unknown(practice):
    handled = hl7_receive(without(sample("2.5.1"), "PRD"), channel="http", actor="t")
    assert handled.code == "AA"
    assert handled.referral.source_partner is None
    assert handled.referral.source_status == "unresolved"
