"""RRI^I12 status replies: the mapping against golden files, the tick that queues one per
status change for subscribed senders, and delivery to a real MLLP listener in the test."""

import socket
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from refnet.hl7.mapping import ReplyFacts, rri_build
from refnet.hl7.mllp import FrameReader, frame
from refnet.hl7.models import HL7Outgoing, HL7Subscriber
from refnet.hl7.services import hl7_receive
from refnet.hl7.tick import hl7_tick
from refnet.referrals.services import referral_transition

from .conftest import GOLDEN, sample

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)


def facts(**changes) -> ReplyFacts:
    base = ReplyFacts(
        sender_application="MEDITECH", sender_facility="ST. BRIGID&ASSOCIATES",
        version="2.5.1", original_control_id="SB-2026-00099", external_id="SB-2026-00099",
        external_namespace="", referral_id=42, status="scheduled", status_label="Scheduled",
        outcome="", priority="routine", changed_at=datetime(2026, 3, 6, 9, 15, tzinfo=UTC),
        provider_name="Siobhan M O'Neill, PA-C", provider_npi="1765432103",
        provider_address=("12 Cathedral Sq", "Springfield", "IL", "62701"),
        provider_phone="(217) 555-0133", location_name="Main Street Clinic",
        location_address=("1 Main St", "Springfield", "IL", "62701"),
        location_phone="(217) 555-0100",
        patient_identifiers=[["SB-4410", "STBRIGID", "MR"]], patient_family="de la Cruz",
        patient_given="Mateo", patient_birth_date=date(1992, 2, 28), patient_sex="M")
    for name, value in changes.items():
        setattr(base, name, value)
    return base


@pytest.mark.parametrize("name, changes", [
    ("rri_scheduled_v2.5.1", {}),
    ("rri_closed_lost_no_show_v2.3", {
        "version": "2.3", "status": "closed_lost", "status_label": "Closed: did not come",
        "outcome": "no_show", "priority": "stat", "external_id": "OAK-REF-5511",
        "external_namespace": "OAKRIDGE", "sender_application": "CERNER",
        "sender_facility": "OAKRIDGE FAMILY MED", "original_control_id": "OAK20260302-0001",
        "patient_sex": "X"}),
    ("rri_closed_lost_not_candidate_v2.4", {
        "version": "2.4", "status": "closed_lost", "status_label": "Closed: did not come",
        "outcome": "not_a_candidate", "provider_name": "", "provider_npi": "",
        "patient_birth_date": None}),
])
def test_rri_matches_golden(name, changes):
    text = rri_build(facts(**changes), now=NOW, control_id="RRI77")
    assert text.replace("\r", "\n") == (GOLDEN / f"{name}.hl7").read_text()


@pytest.mark.parametrize("status, outcome, code", [
    ("received", "", "P"), ("contacted", "", "P"), ("scheduled", "", "A"), ("seen", "", "A"),
    ("closed_won", "became_patient", "A"), ("closed_lost", "no_response", "E"),
    ("closed_lost", "no_show", "E"), ("closed_lost", "insurance", "R"),
])
def test_status_maps_to_rf1_1(status, outcome, code):
    from refnet.hl7.mapping import rf1_status

    assert rf1_status(status, outcome) == code


class FakePeer:
    """A real MLLP listener: records each message and answers with `answer` (AA/AE)."""

    def __init__(self, answer: str = "AA") -> None:
        self.answer, self.received = answer, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        try:
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    reader = FrameReader()
                    while True:
                        data = conn.recv(65536)
                        if not data:
                            break
                        for _kind, payload in reader.feed(data):
                            text = payload.decode()
                            self.received.append(text)
                            control = text.split("\r")[0].split("|")[9]
                            conn.sendall(frame(
                                f"MSH|^~\\&|PEER|X|REFNET||20260306||ACK^I12^ACK|P1|P|2.5.1\r"
                                f"MSA|{self.answer}|{control}|peer says {self.answer}\r"))
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def received(transactional_db, practice):
    """The 2.5.1 sample received (MEDITECH, ST. BRIGID&ASSOCIATES): its referral."""
    return hl7_receive(sample("2.5.1"), channel="mllp", actor="t").referral


def subscribe(port, **fields):
    return HL7Subscriber.objects.create(sending_application="MEDITECH",
                                        sending_facility=fields.pop("facility", ""),
                                        host="127.0.0.1", port=port, **fields)


def test_status_change_sends_one_rri_to_the_subscribed_sender(received):
    peer = FakePeer()
    try:
        subscribe(peer.port)
        assert hl7_tick()["rri_queued"] == 0  # recording it is not a status change
        referral_transition(referral=received, to_status="scheduled", by=None)
        counts = hl7_tick()
        assert (counts["rri_queued"], counts["rri_sent"]) == (1, 1)
        assert hl7_tick()["rri_queued"] == 0  # once per event
    finally:
        peer.close()
    outgoing = HL7Outgoing.objects.get()
    assert (outgoing.status, outgoing.attempts, outgoing.ack_code) == ("sent", 1, "AA")
    assert outgoing.ack_text == "peer says AA" and outgoing.sent_at is not None
    [message] = peer.received
    segments = message.split("\r")
    assert segments[0].split("|")[2:6] == ["REFNET", "Main Street Clinic", "MEDITECH",
                                           "ST. BRIGID\\T\\ASSOCIATES"]
    assert segments[1] == "MSA|AA|SB-2026-00099"
    assert segments[2].startswith("RF1|A^Scheduled^HL70283|R^Routine^HL70280|||"
                                  "|SB-2026-00099|")
    assert segments[2].endswith(f"|{received.pk}^REFNET")
    assert segments[5] == "PID|1||SB-4410^^^STBRIGID^MR||de la Cruz^Mateo||19920228|M"


def test_no_subscription_or_ne_means_no_reply(transactional_db, practice):
    # ATHENA's 2.4 sample says MSH-16 = NE; EPIC has no subscription.
    athena = hl7_receive(sample("2.4"), channel="http", actor="t").referral
    epic = hl7_receive(sample("2.5"), channel="http", actor="t").referral
    HL7Subscriber.objects.create(sending_application="ATHENA", host="127.0.0.1", port=9)
    HL7Subscriber.objects.create(sending_application="EPIC", host="", port=None)
    for referral in (athena, epic):
        referral_transition(referral=referral, to_status="contacted", by=None)
    assert hl7_tick()["rri_queued"] == 0
    assert not HL7Outgoing.objects.exists()


def test_peer_down_is_retried_with_backoff_and_a_refusal_recorded(received):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    subscribe(dead_port)
    referral_transition(referral=received, to_status="contacted", by=None)
    counts = hl7_tick()
    assert (counts["rri_queued"], counts["rri_retry"]) == (1, 1)
    row = HL7Outgoing.objects.get()
    assert (row.status, row.attempts) == ("queued", 1) and row.last_error
    assert row.next_attempt_at > row.created_at + timedelta(seconds=50)
    # The peer comes back but refuses the message: recorded, not retried.
    peer = FakePeer(answer="AE")
    try:
        HL7Outgoing.objects.update(port=peer.port)
        counts = hl7_tick(now=row.next_attempt_at + timedelta(seconds=1))
    finally:
        peer.close()
    row.refresh_from_db()
    assert counts["rri_failed"] == 1
    assert (row.status, row.attempts, row.ack_code) == ("failed", 2, "AE")
    assert row.last_error == "The peer answered AE: peer says AE"
